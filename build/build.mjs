#!/usr/bin/env node
// Bundles every program into one self-contained CommonJS file under dist/
// (CommonJS because Node's single executable applications only run CJS),
// and the client library of the npm package twice, as an ES module and as
// CommonJS (dist/lib/index.mjs, index.cjs, always minified; their sizes are
// printed), with its declarations from tsc (tsconfig.lib.json, dist/types/).
// With --tests it also bundles each test file so uvu can run it with plain
// node; tests import from src/ directly and get the same code the server runs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

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

// The library. Everything of ours is bundled (the published package has no
// runtime dependencies); node: built-ins stay imports. The ES module has no
// __dirname, so its banner gives native.ts the file's own directory, which
// is where it starts looking for the addon (a bundler that turns it into
// CommonJS leaves import.meta empty and native.ts uses __dirname instead).
const LIB_ENTRY = join(root, 'src', 'client', 'index.ts');
const LIB_DIR = join(root, 'dist', 'lib');
const ESM_BANNER = [
  "import { fileURLToPath as __paf_fileURLToPath } from 'node:url';",
  "import { dirname as __paf_dirname } from 'node:path';",
  "const __paf_module_dir = typeof import.meta.url === 'string' && import.meta.url.startsWith('file:') ? __paf_dirname(__paf_fileURLToPath(import.meta.url)) : undefined;",
].join('\n');
rmSync(LIB_DIR, { recursive: true, force: true });
const libraries = [
  { format: 'esm', file: 'index.mjs', banner: { js: ESM_BANNER } },
  { format: 'cjs', file: 'index.cjs' },
];
await Promise.all(libraries.map((l) => build({
  ...common,
  entryPoints: [LIB_ENTRY],
  format: l.format,
  outfile: join(LIB_DIR, l.file),
  minify: true,
  ...(l.banner ? { banner: l.banner } : {}),
})));
for (const l of libraries) {
  const bytes = readFileSync(join(LIB_DIR, l.file));
  console.log(`library ${l.format.toUpperCase()} dist/lib/${l.file}: ${bytes.length} bytes minified, ${gzipSync(bytes).length} gzipped`);
}

// Declarations: a second tsc run, emitting only .d.ts of what src/client/index.ts reaches.
rmSync(join(root, 'dist', 'types'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const types = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.lib.json')], { stdio: 'inherit' });
if (types.status !== 0) {
  console.error('build: tsc -p tsconfig.lib.json failed');
  process.exit(1);
}

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
  console.log(`built ${programs.length} programs, the library and ${tests.length} test files`);
} else {
  console.log(`built ${programs.map((p) => `dist/${p.name}.js`).join(', ')}, dist/lib/index.{mjs,cjs}, dist/types/`);
}
