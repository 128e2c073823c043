#!/usr/bin/env node
// Bundles every program into one self-contained CommonJS file under dist/
// (CommonJS because Node's single executable applications only run CJS).
// With --tests it also bundles each test file so uvu can run it with plain
// node; tests import from src/ directly and get the same code the server runs.
import { build } from 'esbuild';
import { readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const withTests = process.argv.includes('--tests');
const minify = process.argv.includes('--minify');

/** Programs: one bundle each, named after the command. */
const PROGRAMS = ['pafd', 'pafc', 'pafbench'];

function walk(dir, pred, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
};

const programs = PROGRAMS
  .map((name) => ({ name, entry: join(root, 'src', 'bin', `${name}.ts`) }))
  .filter((p) => existsSync(p.entry));

await Promise.all(programs.map((p) => build({
  ...common,
  entryPoints: [p.entry],
  outfile: join(root, 'dist', `${p.name}.js`),
  banner: { js: '#!/usr/bin/env node' },
  minify,
})));

if (withTests) {
  rmSync(join(root, 'dist', 'test'), { recursive: true, force: true });
  const tests = walk(join(root, 'test'), (p) => p.endsWith('.test.ts'));
  await build({
    ...common,
    entryPoints: tests,
    outdir: join(root, 'dist', 'test'),
    outbase: join(root, 'test'),
    // uvu and yaml stay in node_modules; everything of ours is bundled.
    packages: 'external',
  });
  console.log(`built ${programs.length} programs and ${tests.length} test files`);
} else {
  console.log(`built ${programs.map((p) => `dist/${p.name}.js`).join(', ')}`);
}
