// A listener that runs out of descriptors: pafd's accept fails, the error
// is logged once (not once per attempt), the event loop does not spin on
// the still-readable socket, and once descriptors are free again a client
// gets in. The limit is lowered on the running pafd with prlimit(1), over
// ux (our addon's accept path; libuv handles tcp's EMFILE itself).

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import { WireClient } from '../helpers/wire';
import type { MessageConnection } from '../../src/transport/types';
import { connectUx } from '../../src/transport/ux';
import { loadNative } from '../../src/transport/native';

/** CPU seconds (user + system) of a process so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function hasPrlimit(): boolean {
  try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Needs our addon (ux) and util-linux's prlimit. */
const run = loadNative() === null || !hasPrlimit() ? test.skip : test;

run('EMFILE on a ux listener: logged once, no spinning, accepting again once descriptors are back', async () => {
  const name = `ux:paf-accept-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const pafd = await startPafd([name]);
  const extra: MessageConnection[] = [];
  try {
    const open = readdirSync(`/proc/${pafd.pid}/fd`).length;
    execFileSync('prlimit', ['--pid', String(pafd.pid), `--nofile=${open + 4}:`]);
    for (let i = 0; i < 40; i++) extra.push(await connectUx(name));
    await pafd.waitForLog(/accepting on ux:\S+ failed: EMFILE/);
    const cpu0 = cpuSeconds(pafd.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const share = (cpuSeconds(pafd.pid) - cpu0) / ((performance.now() - t0) / 1000);
    assert.ok(share < 0.2, `pafd used ${(share * 100).toFixed(0)} % CPU while out of descriptors`);
    assert.is(pafd.log.filter((l) => /accepting on .* failed/.test(l)).length, 1, 'one log line for the episode');
    for (const c of extra.splice(0)) c.close();
    execFileSync('prlimit', ['--pid', String(pafd.pid), '--nofile=1024:']);
    const c = await WireClient.open(name);
    assert.is((await c.ping())['msg-type'], 'complete');
    c.close();
  } finally {
    for (const c of extra) c.close();
    await pafd.stop();
  }
});

test.run();
