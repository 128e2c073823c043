// The folders of src/ are layers, and dependencies point one way: down.
// Lowest first (README.md, "Layout", says the same):
//
//   log, transport     logging and escaping; sockets and framing
//   protocol           the wire format: JSON codec, props, message schema, encoding
//   core               the decisions (directory, filters, liveness), no I/O
//   config             pafd's configuration file and command line
//   client, server     the client library; pafd's sockets, connections and handlers
//   cli                pafc and pafbench
//   bin                the executables' entry points
//
// A module may import from its own folder and from any lower layer; folders
// on the same layer do not import each other. This scans every import of
// src/**/*.ts (type-only ones too: they tie the folders together just the
// same) and fails on one that points up or sideways. It also follows
// everything src/core and src/protocol import, transitively, and fails if
// any of it loads a Node built-in or a package: the core decides and the
// protocol encodes, the layers above do the I/O.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = process.cwd();
const SRC = join(ROOT, 'src');

/** Folder of src/ -> its layer; a module may import only from lower layers (and its own folder). */
const LAYER: Readonly<Record<string, number>> = {
  log: 0, transport: 0,
  protocol: 1,
  core: 2,
  config: 3,
  client: 4, server: 4,
  cli: 5,
  bin: 6,
  native: 0, // C only: paf_native.c, loaded by transport/native.ts
};
/** Folders whose whole import closure must be free of I/O. */
const PURE = ['core', 'protocol'];

/** Every specifier of import/export-from/require()/import() in a TypeScript source. */
function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms,
    /^\s*import\s+'([^']+)'/gm,
    /\brequire\(\s*'([^']+)'\s*\)/g,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const p of patterns) for (const m of text.matchAll(p)) out.push(m[1]!);
  return out;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The top folder of src/ a path lies in ('' for a path outside src/). */
function folderOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.startsWith('..') ? '' : rel.split('/')[0]!;
}

/** The .ts file a relative specifier names. */
function resolveModule(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base + '.ts', join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, 'node:' + m]));
const FILES = sources(SRC);
const TEXT = new Map(FILES.map((f) => [f, readFileSync(f, 'utf8')]));

test('every folder of src/ has a layer', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  const missing = folders.filter((f) => LAYER[f] === undefined);
  assert.equal(missing, [], `add ${missing.join(', ')} to LAYER here and to README.md's Layout`);
  assert.ok(FILES.length > 50, `scanned ${FILES.length} files`);
});

test('the import scanner sees every form of import', () => {
  const text = [
    "import { a } from '../core/a';",
    "import type {\n  B,\n} from '../protocol/b';",
    "export { c } from './c';",
    "import './d';",
    "const e = require('node:fs');",
    "const f = await import('../server/f');",
  ].join('\n');
  assert.equal(importSpecifiers(text).sort(), ['../core/a', '../protocol/b', '../server/f', './c', './d', 'node:fs']);
});

test('imports point down the layers', () => {
  const wrong: string[] = [];
  let relativeImports = 0;
  for (const file of FILES) {
    const from = folderOf(file);
    for (const spec of importSpecifiers(TEXT.get(file)!)) {
      if (!spec.startsWith('.')) continue;
      relativeImports++;
      const target = resolveModule(file, spec);
      if (target === undefined) { wrong.push(`${relative(ROOT, file)}: ${spec} resolves to no file`); continue; }
      const to = folderOf(target);
      if (to === from) continue;
      if (to === '' || !(LAYER[to]! < LAYER[from]!)) {
        wrong.push(`${relative(ROOT, file)} (${from}, layer ${LAYER[from]}) imports ${relative(ROOT, target)} (${to || 'outside src'}, layer ${LAYER[to] ?? '-'})`);
      }
    }
  }
  assert.ok(relativeImports > 300, `saw ${relativeImports} relative imports`);
  assert.equal(wrong, [], wrong.join('\n'));
});

test('src/core and src/protocol reach no I/O: no Node built-in, no package, not even transitively', () => {
  const wrong: string[] = [];
  const seen = new Set<string>();
  const queue = FILES.filter((f) => PURE.includes(folderOf(f)));
  assert.ok(queue.length > 15, `${queue.length} pure modules`);
  const via = new Map<string, string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const chain = via.has(file) ? ` (reached from ${via.get(file)})` : '';
    for (const spec of importSpecifiers(TEXT.get(file) ?? readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        wrong.push(`${relative(ROOT, file)}${chain} imports ${BUILTINS.has(spec) ? 'the built-in' : 'the package'} ${spec}`);
        continue;
      }
      const target = resolveModule(file, spec);
      if (target !== undefined && !seen.has(target)) {
        if (!via.has(target)) via.set(target, relative(ROOT, file));
        queue.push(target);
      }
    }
  }
  assert.equal(wrong, [], wrong.join('\n'));
});

test.run();
