// Conformance S1 (uxf socket files across signals and restarts) and the
// ux transport without the native addon, against the real pafd bundle.

import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd, tempDir } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { assertOneLineFailure, assertPings, runPafdBounded } from '../helpers/robust';
import { freshAddress } from '../helpers/transport';
import { WireClient } from '../helpers/wire';

const t = suite('ux');

function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** A pafd serving one uxf domain at a fresh path, proven to answer over it. */
async function uxfServer(path: string): Promise<Pafd> {
  const pafd = await startPafd([`uxf:${path}`]);
  assert.equal(pafd.addresses, [`uxf:${path}`]);
  assert.ok(isSocketFile(path), 'the socket file exists while pafd runs');
  const c = await WireClient.open(`uxf:${path}`);
  await assertPings(c, 'a client connects over uxf');
  c.close();
  return pafd;
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t(`S1 ${signal}: pafd exits 0 and removes its uxf socket file`, async () => {
    const path = join(tempDir(), 'pafd.sock');
    const pafd = await uxfServer(path);
    assert.is(await pafd.stop(signal), 0, `exit status after ${signal}`);
    assert.not.ok(existsSync(path), `socket file left behind after ${signal}`);
  });
}

// docs/conformance.md S1 and docs/cli-and-config.md §1.4 say SIGHUP exits like SIGTERM.
// This server reloads on SIGHUP instead (src/bin/pafd.ts), so the socket
// must survive it and keep serving; SIGTERM then removes it.
t('S1 SIGHUP (a reload in this server) keeps the uxf socket file serving; a later SIGTERM removes it', async () => {
  const path = join(tempDir(), 'pafd.sock');
  const pafd = await uxfServer(path);
  const before = await WireClient.open(`uxf:${path}`);
  pafd.proc.kill('SIGHUP');
  await pafd.waitForLog(/SIGHUP received/);
  assert.is(pafd.proc.exitCode, null, 'pafd keeps running after SIGHUP');
  assert.ok(isSocketFile(path), 'the socket file is still there');
  await assertPings(before, 'a client connected before the SIGHUP still works');
  const after = await WireClient.open(`uxf:${path}`);
  await assertPings(after, 'new clients still connect');
  assert.is(await pafd.stop('SIGTERM'), 0);
  assert.not.ok(existsSync(path));
  await before.expectClosed(1000);
  after.close();
});

t('S1 SIGKILL leaves the uxf socket file; a new pafd binds over the stale file and serves', async () => {
  const path = join(tempDir(), 'pafd.sock');
  const killed = await uxfServer(path);
  await killed.stop('SIGKILL');
  assert.ok(isSocketFile(path), 'the socket file remains after SIGKILL');
  const again = await uxfServer(path);
  assert.is(await again.stop('SIGTERM'), 0);
  assert.not.ok(existsSync(path));
});

t('S1 a live server\'s uxf socket is never taken over: a second pafd on the same path exits 1, the first keeps serving', async () => {
  const path = join(tempDir(), 'pafd.sock');
  const first = await uxfServer(path);
  try {
    const c = await WireClient.open(`uxf:${path}`);
    const line = assertOneLineFailure(await runPafdBounded(['-n', `uxf:${path}`]), 'second pafd on a live uxf path');
    assert.match(line, path, 'the line names the path');
    assert.ok(isSocketFile(path), 'the first server\'s socket file is still there');
    await assertPings(c, 'the first server\'s client still works');
    const fresh = await WireClient.open(`uxf:${path}`);
    await assertPings(fresh, 'new clients still reach the first server');
    c.close();
    fresh.close();
  } finally {
    assert.is(await first.stop('SIGTERM'), 0);
  }
  assert.not.ok(existsSync(path));
});

t('without the native addon pafd refuses a ux: address with one line naming the problem and exits 1', async () => {
  const env = { PAF_NATIVE_ADDON: '/nonexistent/paf_native.node' };
  for (const address of [freshAddress('ux'), `uxf:${join(tempDir(), 'pafd.sock')}`]) {
    const line = assertOneLineFailure(await runPafdBounded(['-n', address], 30000, env), `${address} without the addon`);
    assert.match(line, address, 'the line names the address');
    assert.match(line, /addon/, 'the line says the addon is the problem');
  }
  // A ux socket among others fails the whole start, too.
  const mixed = `tcp:127.0.0.1:0+${freshAddress('ux')}`;
  assertOneLineFailure(await runPafdBounded(['-n', '-m', mixed], 30000, env), 'mixed domain without the addon');
});

t('without the native addon pafd serves tcp-only configurations normally', async () => {
  const pafd = await startPafd(['tcp:127.0.0.1:0'], { env: { PAF_NATIVE_ADDON: '/nonexistent/paf_native.node' } });
  try {
    const a = await WireClient.open(pafd.addresses[0]!);
    const b = await WireClient.open(pafd.addresses[0]!);
    assert.is((await a.publish(1n, 0, { name: ['no-addon'] }, 5))['msg-type'], 'complete');
    assert.is((await b.list('services')).length, 1);
    a.close();
    b.close();
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t.run();
