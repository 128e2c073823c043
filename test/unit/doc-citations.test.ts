// Every document the repository cites must be in the repository: a
// newcomer reading a comment such as "docs/semantics.md §3" has to be able
// to open it. This scans the sources, docs, build scripts, tests, board
// targets and the README for `*.md` paths and fails on any that does not
// resolve. A path with a directory resolves from the repository root (or,
// for markdown links, from the citing file's directory); a bare name must
// be a file at the root or beside the citing file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = process.cwd();
/** What is scanned, relative to the root. */
const SCANNED = ['src', 'docs', 'build', 'test', 'targets', 'README.md'];
/** Binary or generated files that cannot hold a citation. */
const SKIPPED_EXTENSIONS = /\.(png|jpg|gif|pem|der|node|o|so|gz|tgz)$/;

// A path ending in ".md" not preceded by a path character, so that only
// whole paths are taken (a URL's path is preceded by '/' and skipped). The
// extension is assembled so this file's own source holds no citation.
const MD = '\\.' + 'md';
const CITATION = new RegExp(`(?<![\\w./-])((?:[\\w.-]+/)*[\\w.-]+${MD})(?![\\w-])`, 'g');

function walk(path: string, out: string[]): string[] {
  if (!existsSync(path)) return out;
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) walk(join(path, name), out);
  } else if (!SKIPPED_EXTENSIONS.test(path)) {
    out.push(path);
  }
  return out;
}

export interface Dangling { file: string; line: number; cited: string }

/** The `*.md` paths cited in `text` (the file at `file`) that resolve to no file. */
export function danglingCitations(file: string, text: string, exists: (path: string) => boolean): Dangling[] {
  const out: Dangling[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    for (const m of lines[i]!.matchAll(CITATION)) {
      const cited = m[1]!;
      if (exists(join(ROOT, cited)) || exists(join(dirname(file), cited))) continue;
      out.push({ file: relative(ROOT, file), line: i + 1, cited });
    }
  }
  return out;
}

test('the checker reports a citation of a missing file and accepts existing ones', () => {
  const here = join(ROOT, 'src', 'x.ts');
  const text = [
    `// see docs/semantics${'.md'} §3 and README${'.md'}`,
    `// and protocol${'.md'} §6, docs/nowhere${'.md'}, https://example.org/page${'.md'}`,
  ].join('\n');
  const found = danglingCitations(here, text, existsSync);
  assert.equal(found.map((d) => `${d.line}:${d.cited}`), [`2:protocol${'.md'}`, `2:docs/nowhere${'.md'}`]);
});

test('every *.md path cited in src, docs, build, test, targets and README.md exists', () => {
  const files = SCANNED.flatMap((p) => walk(join(ROOT, p), []));
  assert.ok(files.length > 100, `scanned ${files.length} files`);
  const dangling = files.flatMap((f) => danglingCitations(f, readFileSync(f, 'utf8'), existsSync));
  assert.equal(dangling.map((d) => `${d.file}:${d.line}: ${d.cited}`), []);
});

test.run();
