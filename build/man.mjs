// Turns the manual pages docs/pafd.md, docs/pafc.md and docs/pafbench.md
// into roff for man(1) at build time (build/tarball.mjs). It knows the
// markdown those pages use, and nothing more:
//
//   # name(section) — summary          -> .TH and the NAME section
//   ## Heading / ### Heading           -> .SH / .SS
//   paragraphs                         -> .PP
//   ``` fenced blocks ```              -> indented no-fill text
//   | pipe | tables |                  -> tbl(1) tables (the page starts with '\" t)
//   * bullets, 1. numbered, nested     -> .IP items, .RS/.RE for nesting
//   `code`, **bold**, *italic*, \x     -> \fB, \fB, \fI, literal x
//   [text](url)                        -> text <url>
//
// Anything else (HTML, links with titles, setext headings, block quotes)
// is an error rather than a page that silently renders wrong. Non-ASCII
// characters become groff's \[uXXXX], so the output is plain ASCII.
//
//   node build/man.mjs docs/pafc.md > pafc.1     (prints one page)

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const TITLE = /^# ([a-z][a-z0-9-]*)\((\d)\) (?:—|--?) (.+)$/;
const HEADING = /^(#{2,3}) (.+)$/;
const FENCE = /^```/;
const LIST_ITEM = /^( *)([*-]|\d+\.) +(.*)$/;
const UNSUPPORTED = /^(?:>|<[a-zA-Z!/]|#{4,} |={3,}\s*$|-{3,}\s*$)/;
/** Table columns no wider than this in every row are set at their natural width; wider ones wrap. */
const NARROW_COLUMN = 24;
/** Characters a backslash escapes in markdown. */
const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|<>~"'$&:;=?@^%,/]/;

class ManError extends Error {}

/** roff-safe text: backslashes, non-ASCII as \[uXXXX], '-' as \- when asked (code, options). */
function escapeText(text, { minus = false } = {}) {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (ch === '\\') out += '\\e';
    else if (ch === '-' && minus) out += '\\-';
    else if (cp > 0x7e) out += `\\[u${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
    else out += ch;
  }
  return out;
}

/** A roff text line must not start with a control character. */
function textLine(s) {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/** Inline markdown of one paragraph or cell to roff. */
export function inline(md) {
  let out = '';
  let i = 0;
  const fonts = [];   // open emphasis: '**' or '*'
  while (i < md.length) {
    const ch = md[i];
    if (ch === '`') {
      let n = 0;
      while (md[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      let end = md.indexOf(fence, i + n);
      while (end >= 0 && md[end + n] === '`') end = md.indexOf(fence, end + n + 1);
      if (end < 0) throw new ManError(`unclosed code span in: ${md}`);
      let code = md.slice(i + n, end);
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
      // \: lets troff break a long name after '.', '/' or '_' (in a narrow table column).
      out += `\\fB${escapeText(code, { minus: true }).replace(/(?<=\S)([./_])(?=.)/g, '$1\\:')}\\fP`;
      i = end + n;
    } else if (ch === '\\' && i + 1 < md.length && ESCAPABLE.test(md[i + 1])) {
      out += escapeText(md[i + 1]);
      i += 2;
    } else if (md.startsWith('**', i)) {
      if (fonts.at(-1) === '**') { fonts.pop(); out += '\\fP'; } else { fonts.push('**'); out += '\\fB'; }
      i += 2;
    } else if (ch === '*' && fonts.at(-1) === '*' && i > 0 && md[i - 1] !== ' ') {
      fonts.pop();
      out += '\\fP';
      i += 1;
    } else if (ch === '*' && i + 1 < md.length && md[i + 1] !== ' ' && (i === 0 || /[\s(]/.test(md[i - 1])) && md.indexOf('*', i + 1) > i + 1) {
      fonts.push('*');
      out += '\\fI';
      i += 1;
    } else if (ch === '[' && /^\[[^\]]+\]\([^)\s]+\)/.test(md.slice(i))) {
      const m = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(md.slice(i));
      out += `${inline(m[1])} <${escapeText(m[2])}>`;
      i += m[0].length;
    } else {
      out += escapeText(ch);
      i += 1;
    }
  }
  if (fonts.length > 0) throw new ManError(`unclosed ${fonts.at(-1)} in: ${md}`);
  return out;
}

/** The cells of a table row: split on unescaped '|', `\|` kept as '|' (also inside code, as GFM does). */
function cells(row) {
  const parts = [];
  let cell = '';
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && body[i + 1] === '|') { cell += '|'; i++; } else if (body[i] === '|') { parts.push(cell.trim()); cell = ''; } else cell += body[i];
  }
  parts.push(cell.trim());
  return parts;
}

/** Roughly how wide markdown text is once rendered (markup characters dropped). */
function renderedLength(md) {
  return md.replace(/\\(.)/g, '$1').replace(/[`*]/g, '').length;
}

/**
 * A pipe table as tbl input: header in bold, a rule below it. Narrow
 * columns take their natural width; a wide one wraps in text blocks, at
 * least as wide as its longest word (else troff cannot break the line),
 * and the widest column takes the rest of the line.
 */
function table(rows, where) {
  if (rows.length < 2 || !/^\|?\s*:?-{3,}/.test(rows[1])) throw new ManError(`${where}: a table needs a header and a |---| line`);
  const head = cells(rows[0]);
  const body = rows.slice(2).map(cells);
  for (const r of body) if (r.length !== head.length) throw new ManError(`${where}: row has ${r.length} cells, header ${head.length}: ${r.join(' | ')}`);
  const all = [head, ...body];
  const widest = head.map((_, c) => Math.max(...all.map((r) => renderedLength(r[c]))));
  // Code may also break after '.', '/' and '_' (see inline()).
  const longestWord = head.map((_, c) => Math.max(...all.flatMap((r) => r[c].split(/\s+|(?<=[./_])/).map(renderedLength))));
  const wraps = widest.map((w) => w > NARROW_COLUMN);
  const expand = widest.indexOf(Math.max(...widest));
  const format = head.map((_, c) => {
    if (c === expand) return 'lx';
    return wraps[c] ? `lw(${Math.max(longestWord[c], NARROW_COLUMN)}n)` : 'l';
  }).join(' ');
  const cell = (text, c, bold) => {
    const roff = bold ? `\\fB${inline(text)}\\fP` : inline(text);
    return wraps[c] ? `T{\n${textLine(roff)}\nT}` : roff;
  };
  const out = ['.TS', 'tab(\t);', `${format}.`];
  out.push(head.map((t, c) => cell(t, c, true)).join('\t'));
  out.push('_');
  for (const r of body) out.push(r.map((t, c) => cell(t, c, false)).join('\t'));
  out.push('.TE');
  return out;
}

/** A (possibly nested) list; lines are the raw lines of the block. */
function list(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m) throw new ManError(`list continuation without an item: ${lines[i]}`);
    const indent = m[1].length;
    const mark = /^\d/.test(m[2]) ? m[2] : '\\(bu';
    const text = [m[3]];
    const nested = [];
    for (i++; i < lines.length; i++) {
      const l = lines[i];
      const ind = /^ */.exec(l)[0].length;
      const sub = LIST_ITEM.exec(l);
      if (sub && ind <= indent) break;
      if (sub || nested.length > 0) nested.push(l);
      else text.push(l.trim());
    }
    out.push(`.IP ${mark} ${/^\d/.test(m[2]) ? 4 : 2}`, textLine(inline(text.join(' '))));
    if (nested.length > 0) {
      const base = /^ */.exec(nested[0])[0].length;
      out.push('.RS', ...list(nested.map((l) => l.slice(Math.min(base, /^ */.exec(l)[0].length)))), '.RE');
    }
  }
  return out;
}

/**
 * One markdown manual page to roff.
 * @param {string} md the page
 * @param {{ file: string, date: string, source: string }} meta file (for errors), date (YYYY-MM-DD), source (e.g. "pathfinder-ts 0.1.0")
 */
export function markdownToMan(md, { file, date, source }) {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const title = TITLE.exec(lines[0] ?? '');
  if (!title) throw new ManError(`${file}:1: the first line must be "# name(section) — summary"`);
  const [, name, section, summary] = title;
  const out = [
    "'\\\" t",
    `.\\" Generated from ${basename(file)} by build/man.mjs; edit that file instead.`,
    `.TH ${name.toUpperCase()} ${section} "${date}" "${escapeText(source)}" "Pathfinder"`,
    // Options and addresses must not be hyphenated; ragged right reads better with long literals.
    '.nh',
    '.ad l',
    // On a terminal the page is one long page: otherwise a table row whose
    // text block falls across nroff's 66-line page boundary makes tbl warn
    // (and fail the rendering check), depending only on where it happens to land.
    '.if n .pl 100000v',
    '.SH NAME',
    `${escapeText(name, { minus: true })} \\- ${inline(summary)}`,
  ];
  let i = 1;
  while (i < lines.length) {
    const line = lines[i];
    const where = `${file}:${i + 1}`;
    if (line.trim() === '') { i++; continue; }
    if (UNSUPPORTED.test(line)) throw new ManError(`${where}: unsupported markdown: ${line}`);
    const h = HEADING.exec(line);
    if (h) {
      const text = h[2].trim();
      out.push(h[1] === '##' ? `.SH "${escapeText(text.toUpperCase())}"` : `.SS "${escapeText(text)}"`);
      i++;
      continue;
    }
    if (FENCE.test(line)) {
      const end = lines.findIndex((l, k) => k > i && FENCE.test(l));
      if (end < 0) throw new ManError(`${where}: unclosed code block`);
      out.push('.PP', '.RS 4', '.nf');
      for (const l of lines.slice(i + 1, end)) out.push(textLine(escapeText(l, { minus: true })));
      out.push('.fi', '.RE');
      i = end + 1;
      continue;
    }
    if (line.startsWith('|')) {
      const rows = [];
      while (i < lines.length && lines[i].startsWith('|')) rows.push(lines[i++]);
      out.push(...table(rows, where));
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const block = [];
      while (i < lines.length) {
        if (lines[i].trim() === '') {
          // A blank line inside a list: the list goes on if an item (or an indented line) follows.
          const next = lines.slice(i).findIndex((l) => l.trim() !== '');
          const l = next < 0 ? undefined : lines[i + next];
          if (l === undefined || !(LIST_ITEM.test(l) || /^ {2,}\S/.test(l))) break;
          i += next;
          continue;
        }
        if (HEADING.test(lines[i]) || FENCE.test(lines[i]) || lines[i].startsWith('|')) break;
        block.push(lines[i++]);
      }
      out.push(...list(block));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() !== '' && !HEADING.test(lines[i]) && !FENCE.test(lines[i]) && !lines[i].startsWith('|') && !LIST_ITEM.test(lines[i])) {
      if (UNSUPPORTED.test(lines[i])) throw new ManError(`${file}:${i + 1}: unsupported markdown: ${lines[i]}`);
      para.push(lines[i++].trim());
    }
    out.push('.PP', textLine(inline(para.join(' '))));
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node build/man.mjs <markdown file>');
    process.exit(2);
  }
  try {
    process.stdout.write(markdownToMan(readFileSync(file, 'utf8'), { file, date: new Date().toISOString().slice(0, 10), source: 'pathfinder-ts' }));
  } catch (err) {
    console.error(`man: ${err.message}`);
    process.exit(1);
  }
}
