// The manual pages shipped on boards: build/man.mjs turns docs/pafd.md,
// docs/pafc.md and docs/pafbench.md into roff, and man(1) renders the
// result without a warning. The converter is run as the build runs it (a
// child process), on the real pages and on a page of every construct it
// knows. Needs man-db (.ci/run installs it).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = process.cwd();
const CONVERTER = join(ROOT, 'build', 'man.mjs');
const PAGES = [
  { name: 'pafd', section: 8 },
  { name: 'pafc', section: 1 },
  { name: 'pafbench', section: 1 },
];

function convert(file: string): { status: number | null; roff: string; stderr: string } {
  const r = spawnSync(process.execPath, [CONVERTER, file], { encoding: 'utf8' });
  return { status: r.status, roff: r.stdout, stderr: r.stderr };
}

function convertText(md: string): { status: number | null; roff: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'paf-man-'));
  try {
    const file = join(dir, 'page.markdown');
    writeFileSync(file, md);
    return convert(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** man -l on roff text; the rendered page and what man/groff said on stderr. */
function render(roff: string): { status: number | null; text: string; stderr: string } {
  const r = spawnSync('man', ['-l', '-'], {
    input: roff, encoding: 'utf8',
    env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '80', LC_ALL: 'C.UTF-8' },
  });
  if (r.error) throw new Error(`man: ${r.error.message} (Debian package man-db)`);
  return { status: r.status, text: r.stdout, stderr: r.stderr };
}

for (const page of PAGES) {
  test(`docs/${page.name}.md becomes a ${page.name}(${page.section}) page that man renders without a warning`, () => {
    const md = readFileSync(join(ROOT, 'docs', `${page.name}.md`), 'utf8');
    const { status, roff, stderr } = convert(join(ROOT, 'docs', `${page.name}.md`));
    assert.is(status, 0, stderr);
    assert.ok(roff.startsWith("'\\\" t\n"), 'tbl preprocessor line first');
    assert.match(roff, new RegExp(`^\\.TH ${page.name.toUpperCase()} ${page.section} `, 'm'));
    assert.ok(/^[\x09\x0a\x20-\x7e]*$/.test(roff), 'plain ASCII roff');
    // Every section of the markdown is a section of the page.
    for (const m of md.matchAll(/^## (.+)$/gm)) assert.ok(roff.includes(`.SH "${m[1]!.toUpperCase()}"`), m[1]);
    const out = render(roff);
    assert.is(out.status, 0, out.stderr);
    assert.is(out.stderr, '');
    assert.ok(out.text.startsWith(`${page.name.toUpperCase()}(${page.section})`), out.text.slice(0, 80));
    assert.match(out.text, new RegExp(`^NAME\\n\\s+${page.name} - \\S`, 'm'));
    assert.match(out.text, /^SYNOPSIS$/m);
  });
}

test('every construct the pages use renders as meant', () => {
  const md = [
    '# demo(1) — a demo page',
    '',
    '## Options',
    '',
    '| Option | Meaning |',
    '|---|---|',
    '| `-a` | A value written `\\|text\\|` is a string. |',
    '| `--long-option` | **Bold**, *italic* and `` ` `` in a cell. |',
    '',
    '### Lists',
    '',
    '1. first step',
    '   on two lines;',
    '2. second step:',
    '   * nested bullet',
    '   * another one',
    '3. third step.',
    '',
    '.starts with a dot and has a \\\\ backslash, an escaped \\* star and an em dash — here.',
    '',
    '```',
    '.code line with -dash',
    '```',
  ].join('\n');
  const { status, roff, stderr } = convertText(md);
  assert.is(status, 0, stderr);
  assert.ok(roff.includes('demo \\- a demo page'), 'NAME line');
  assert.ok(roff.includes('.TS') && roff.includes('.TE'), 'a tbl table');
  assert.ok(roff.includes('\\fB|text|\\fP'), 'escaped pipes inside a table cell');
  assert.ok(roff.includes('\\fB\\-\\-long\\-option\\fP'), 'minus signs in code');
  assert.ok(roff.includes('\\fBBold\\fP') && roff.includes('\\fIitalic\\fP'), 'emphasis');
  assert.ok(roff.includes('\\fB`\\fP'), 'a backtick in a double-backtick code span');
  assert.ok(roff.includes('.IP 1. 4') && roff.includes('.RS\n.IP \\(bu 2\nnested bullet'), 'a bullet list nested in a numbered list');
  assert.ok(roff.includes('\\&.starts with a dot and has a \\e backslash, an escaped * star and an em dash \\[u2014] here.'), 'escapes');
  assert.ok(roff.includes('\n\\&.code line with \\-dash\n'), 'code block lines are protected too');
  const out = render(roff);
  assert.is(out.stderr, '');
  assert.match(out.text, /A value written \|text\| is a string\./);
  assert.match(out.text, /^ {7}\.starts with a dot/m);
  assert.match(out.text, /^ +• nested bullet$/m);
});

test('markdown the converter does not know is an error naming the line, not a wrong page', () => {
  for (const [line, what] of [['> a quote', 'block quote'], ['<div>html</div>', 'HTML'], ['#### deep heading', 'level 4 heading']]) {
    const r = convertText(`# demo(1) — demo\n\ntext\n\n${line}\n`);
    assert.is(r.status, 1, what);
    assert.match(r.stderr, /page\.markdown:5: unsupported markdown/, what);
  }
  const noTitle = convertText('# demo\n');
  assert.is(noTitle.status, 1);
  assert.match(noTitle.stderr, /page\.markdown:1: the first line must be/);
  const unclosed = convertText('# demo(1) — demo\n\n```\ncode\n');
  assert.is(unclosed.status, 1);
  assert.match(unclosed.stderr, /unclosed code block/);
});

test.run();
