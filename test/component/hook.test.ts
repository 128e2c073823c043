// S2: the -r start-up hook is called once, with one entry per domain.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPafd, startPafd, tempDir } from '../helpers/pafd';

test('S2 -r hook is called once with one element per domain, after binding', async () => {
  const dir = tempDir();
  const out = join(dir, 'calls');
  writeFileSync(join(dir, 'hook.js'),
    'exports.run = (domains) => { require("fs").appendFileSync(process.env.HOOK_OUT, JSON.stringify(domains) + "\\n"); };\n');
  const pafd = await startPafd(['-r', join(dir, 'hook.js'), 'tcp:127.0.0.1:0', '-m', 'tcp:127.0.0.1:0+tcp:127.0.0.1:0'], { env: { HOOK_OUT: out } });
  await pafd.stop();
  const calls = readFileSync(out, 'utf8').trim().split('\n');
  assert.is(calls.length, 1);
  const domains = JSON.parse(calls[0]);
  assert.is(domains.length, 2);
  assert.equal(domains[0].addresses, [pafd.addresses[0]]);
  assert.equal(domains[1].addresses, pafd.addresses.slice(1));
});

test('S2 a hook that throws stops pafd with exit 1 and one line on stderr', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'bad.js'), 'exports.check = () => { throw new Error("no way"); };\n');
  const r = await runPafd(['-n', '-r', `${join(dir, 'bad.js')}#check`, 'tcp:127.0.0.1:0']);
  assert.is(r.code, 1);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /no way/);
});

test.run();
