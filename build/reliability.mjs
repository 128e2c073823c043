#!/usr/bin/env node
// Runs the reliability suite of issue 8 (test/reliability/*.test.ts) in
// its long forms, one file at a time (each loads the machine on purpose),
// prints the table of figures they report and writes it into
// docs/RELIABILITY.md between the markers below. `npm test` runs the same
// files in their short forms.
// Usage: node build/reliability.mjs [--short] [substring ...]
//   --short   run the short forms (what `npm test` runs), e.g. to try the driver
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const short = args.includes('--short');
const filters = args.filter((a) => !a.startsWith('--'));
const DOC = join(root, 'docs/RELIABILITY.md');
const BEGIN = '<!-- reliability-table:begin -->';
const END = '<!-- reliability-table:end -->';
/** A long form runs for minutes; past this it counts as hung. */
const FILE_TIMEOUT_MS = 30 * 60_000;

const built = spawnSync(process.execPath, [join(root, 'build', 'build.mjs'), '--tests'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const dir = join(root, 'dist', 'test');
const pick = (sub, test) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)) : [])
  .filter((f) => test(f) && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort()
  .map((f) => join(sub, f));
// The reliability scenarios, then the property-based unit tests (ten
// times their cases in the long form; the driver reports their row).
const files = [
  ...pick('reliability', (f) => f.endsWith('.test.js')),
  ...pick('unit', (f) => f.startsWith('prop-') && f.endsWith('.test.js')),
];
const out = join(mkdtempSync(join(tmpdir(), 'paf-reliability-')), 'figures.jsonl');
writeFileSync(out, '');

function run(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', PAF_RELIABILITY_OUT: out, PAF_RELIABILITY_LONG: short ? '0' : '1' };
    const child = spawn(process.execPath, [join(dir, file)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    const timer = setTimeout(() => { text += `\n[reliability] killed after ${FILE_TIMEOUT_MS} ms\n`; child.kill('SIGKILL'); }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const total = /Total:\s+(\d+)/.exec(text), passed = /Passed:\s+(\d+)/.exec(text);
      const ok = code === 0 && total !== null && passed !== null && total[1] === passed[1];
      if (file.includes('prop-')) {
        const row = {
          test: `properties: ${file.replace(/^unit\/prop-|\.test\.js$/g, '')}`,
          load: `fast-check, ${short ? '' : '10× '}the short form's cases, seed ${process.env.PAF_PROP_SEED ?? '0x5eed'}`,
          figures: `${passed?.[1] ?? 0} of ${total?.[1] ?? '?'} properties held, ${secs} s`,
        };
        writeFileSync(out, `${JSON.stringify(row)}\n`, { flag: 'a' });
      }
      process.stdout.write(`${ok ? 'ok' : 'FAILED'} ${file} (${secs} s)\n`);
      if (!ok) process.stdout.write(`${text}\n`);
      resolve(ok);
    });
  });
}

let failed = 0;
for (const file of files) if (!(await run(file))) failed++;

const rows = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const cell = (s) => String(s).replace(/\|/g, '\\|');
const table = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, `
    + `${short ? 'short forms (`node build/reliability.mjs --short`)' : 'long forms (`npm run test:reliability`)'}.`,
  '',
  '| Test | Load | Figures |',
  '|---|---|---|',
  ...rows.map((r) => `| ${cell(r.test)} | ${cell(r.load)} | ${cell(r.figures)} |`),
  '',
  failed === 0 ? `All ${files.length} files passed.` : `${failed} of ${files.length} files FAILED.`,
].join('\n');
process.stdout.write(`\n${table}\n`);

const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : `# Reliability\n\n${BEGIN}\n${END}\n`;
const b = doc.indexOf(BEGIN), e = doc.indexOf(END);
if (b < 0 || e < b) {
  process.stdout.write(`${DOC}: markers ${BEGIN} / ${END} not found; table not written\n`);
  failed++;
} else if (filters.length === 0) {
  writeFileSync(DOC, `${doc.slice(0, b + BEGIN.length)}\n${table}\n${doc.slice(e)}`);
  process.stdout.write(`table written to docs/RELIABILITY.md\n`);
} else {
  process.stdout.write('a subset was run: docs/RELIABILITY.md left as it is\n');
}
process.exitCode = failed > 0 ? 1 : 0;
