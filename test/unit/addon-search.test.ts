// Where the client library and pafd look for the native addon
// (src/transport/native.ts): beside the bundle, beside the main script,
// in the package's own folder as require would resolve it — and never
// in a package found from the working directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addonCandidates } from '../../src/transport/native';
import { tempDir } from '../helpers/pafd';

const FILE = 'paf_native.node';

function withoutEnv<T>(fn: () => T): T {
  const saved = process.env.PAF_NATIVE_ADDON;
  delete process.env.PAF_NATIVE_ADDON;
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env.PAF_NATIVE_ADDON = saved;
  }
}

test('the file beside the bundle and beside the main script are candidates', () => {
  const c = withoutEnv(addonCandidates);
  const main = dirname(process.argv[1]!);
  for (const p of [join(__dirname, FILE), join(main, FILE), join(main, 'native', process.arch, FILE)]) {
    assert.ok(c.includes(p), `${p} not in\n${c.join('\n')}`);
  }
});

test('the package folder as require resolves it (here: the repository, by self-reference) is a candidate', () => {
  const c = withoutEnv(addonCandidates);
  assert.ok(c.includes(join(process.cwd(), 'dist', 'native', process.arch, FILE)), c.join('\n'));
});

test('a package under the working directory is not', () => {
  const cwd = process.cwd();
  const elsewhere = tempDir('paf-cwd-');
  const planted = join(elsewhere, 'node_modules', 'pathfinder-ts');
  mkdirSync(join(planted, 'dist', 'native', process.arch), { recursive: true });
  writeFileSync(join(planted, 'package.json'), JSON.stringify({ name: 'pathfinder-ts', version: '0.0.0' }));
  writeFileSync(join(planted, 'dist', 'native', process.arch, FILE), '');
  process.chdir(elsewhere);
  try {
    const c = withoutEnv(addonCandidates);
    assert.not.ok(c.some((p) => p.startsWith(elsewhere)), c.join('\n'));
  } finally {
    process.chdir(cwd);
  }
});

test.run();
