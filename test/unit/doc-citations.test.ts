// Every document the repository cites must be in the repository: a
// newcomer reading a comment such as "docs/semantics.md §3" has to be able
// to open it. This scans the sources, docs, build scripts, tests, board
// targets and the README for `*.md` paths and fails on any that does not
// resolve. A path with a directory resolves from the repository root (or,
// for markdown links, from the citing file's directory); a bare name must
// be a file at the root or beside the citing file. A section cited after
// a path (`§3`, `§1.2–§1.3`) must be a numbered heading of that file.

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

/** Section numbers after a citation: `§3`, `§1.2–§1.3`, `§6.1, §6.3`. */
const SECTIONS = new RegExp(`(?<![\\w./-])((?:[\\w.-]+/)*[\\w.-]+${MD})((?:(?:\\s|,\\s*|[–-])§\\s?\\d+(?:\\.\\d+)*)+)`, 'g');

/** The numbered sections (`## 3.`, `### 6.1`) of a markdown text. */
function sectionsOf(text: string): Set<string> {
  return new Set([...text.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)].map((m) => m[1]!));
}

/** Citations of a section (`§n` after a document path) that the document does not have. */
export function missingSections(file: string, text: string, read: (path: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SECTIONS)) {
    const target = read(join(ROOT, m[1]!)) ?? read(join(dirname(file), m[1]!));
    if (target === undefined) continue;                       // reported as a missing file
    const have = sectionsOf(target);
    for (const n of m[2]!.matchAll(/§\s?(\d+(?:\.\d+)*)/g)) {
      if (!have.has(n[1]!)) out.push(`${relative(ROOT, file)}: ${m[1]} §${n[1]}`);
    }
  }
  return out;
}

function readIfFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

test('the section checker finds numbered headings and reports missing ones', () => {
  const doc = '# T\n\n## 1. One\n\n### 1.2 Two\n\n## 3 Three\n';
  const read = (p: string) => (p.endsWith(`x${'.md'}`) ? doc : undefined);
  const text = `see docs/x${'.md'} §1.2, §3 and docs/x${'.md'} §1.3–§4; docs/y${'.md'} §9`;
  assert.equal(missingSections(join(ROOT, 'src', 'a.ts'), text, read), [`src/a.ts: docs/x${'.md'} §1.3`, `src/a.ts: docs/x${'.md'} §4`]);
});

test('every cited section of a repository document exists', () => {
  const files = SCANNED.flatMap((p) => walk(join(ROOT, p), []));
  assert.equal(files.flatMap((f) => missingSections(f, readFileSync(f, 'utf8'), readIfFile)), []);
});

test('every *.md path cited in src, docs, build, test, targets and README.md exists', () => {
  const files = SCANNED.flatMap((p) => walk(join(ROOT, p), []));
  assert.ok(files.length > 100, `scanned ${files.length} files`);
  const dangling = files.flatMap((f) => danglingCitations(f, readFileSync(f, 'utf8'), existsSync));
  assert.equal(dangling.map((d) => `${d.file}:${d.line}: ${d.cited}`), []);
});

test.run();
