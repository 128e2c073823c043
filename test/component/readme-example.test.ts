// The README's client library example, byte for byte, run by node
// against a real pafd: the example a newcomer copies must work as written.
// It imports 'pathfinder-ts', so it runs in a scratch directory whose
// node_modules/pathfinder-ts is a link to this repository (the package's
// exports map and the built dist/lib/); npm-package.test.ts does the same
// with a real `npm pack` + `npm install`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WireClient } from '../../src/client';
import { startPafd, tempDir } from '../helpers/pafd';

/** The first ```js block of the README's "Client library" section. */
function readmeExample(readme: string): string {
  const section = readme.indexOf('\n## Client library\n');
  assert.ok(section >= 0, 'README has no "## Client library" section');
  const m = /\n```js\n([\s\S]*?)\n```\n/.exec(readme.slice(section));
  assert.ok(m, 'no ```js block in the Client library section');
  return `${m![1]}\n`;
}

function run(cwd: string, file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('README client example: publishes, sees its service appear and change, detaches', async () => {
  const example = readmeExample(readFileSync(join(process.cwd(), 'README.md'), 'utf8'));
  assert.ok(example.includes("from 'pathfinder-ts'"), 'the example imports the package');
  const scratch = tempDir('paf-readme-');
  mkdirSync(join(scratch, 'node_modules'));
  symlinkSync(process.cwd(), join(scratch, 'node_modules', 'pathfinder-ts'), 'dir');
  writeFileSync(join(scratch, 'example.mjs'), example);
  const domains = join(scratch, 'domains.d');
  mkdirSync(domains);
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    writeFileSync(join(domains, 'example'), `${pafd.addresses[0]}\n`);
    const r = await run(scratch, 'example.mjs', { PAF_DOMAINS: domains });
    assert.is(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.map((e) => [e.type, e.props]), [
      ['appeared', { name: ['billing'], port: [8443] }],
      ['modified', { name: ['billing'], port: [8444] }],
    ]);
    assert.is(events[0].serviceId, events[1].serviceId);
    assert.match(events[0].serviceId, /^0x[0-9a-f]+$/);
    assert.equal([events[0].generation, events[1].generation], ['0', '1']);
    // The example's detach unpublished the service on the server.
    const observer = await WireClient.connect(pafd.addresses[0]);
    try {
      assert.equal(await observer.services(), []);
    } finally {
      observer.close();
    }
  } finally {
    await pafd.stop();
  }
});

test.run();
