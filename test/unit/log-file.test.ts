// The rotating log file (src/log/file.ts): rotation at the configured size,
// N backups kept in order, appending to an existing file, reopening after
// an outside rotation, and failures reported once instead of thrown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingLogFile, fileLine } from '../../src/log/file';

function scratch(): { dir: string; path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'paf-logfile-'));
  return { dir, path: join(dir, 'pafd.log'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const noErrors = (m: string) => { throw new Error(`unexpected log file error: ${m}`); };

/** Ten-byte lines "L0000042\n" style, numbered. */
function line(i: number): string { return `L${String(i).padStart(8, '0')}\n`; }

test('rotates when a line would pass the maximum size and keeps exactly N backups, oldest dropped', () => {
  const { path, done } = scratch();
  try {
    const MAX = 100, BACKUPS = 3, LINES = 57;
    const f = new RotatingLogFile(path, MAX, BACKUPS, noErrors);
    for (let i = 0; i < LINES; i++) f.write(line(i));
    f.close();
    for (let i = 1; i <= BACKUPS; i++) assert.is(statSync(`${path}.${i}`).size, MAX, `backup ${i} is full`);
    assert.not.ok(existsSync(`${path}.${BACKUPS + 1}`), 'no backup beyond the count');
    assert.is(statSync(path).size, (LINES % 10) * 10, 'the current file has the rest');
    // Oldest to newest: .3 .2 .1 current hold the last 37 lines in order.
    const text = [3, 2, 1].map((i) => readFileSync(`${path}.${i}`, 'utf8')).join('') + readFileSync(path, 'utf8');
    const expected = Array.from({ length: 37 }, (_, k) => line(LINES - 37 + k)).join('');
    assert.is(text, expected);
  } finally {
    done();
  }
});

test('no rotation without backups (the file grows) or with maximum size 0', () => {
  for (const [max, backups] of [[50, 0], [0, 2]] as const) {
    const { path, done } = scratch();
    try {
      const f = new RotatingLogFile(path, max, backups, noErrors);
      for (let i = 0; i < 20; i++) f.write(line(i));
      f.close();
      assert.is(statSync(path).size, 200);
      assert.not.ok(existsSync(`${path}.1`));
    } finally {
      done();
    }
  }
});

test('appends to an existing file and counts its size towards the rotation', () => {
  const { path, done } = scratch();
  try {
    writeFileSync(path, 'x'.repeat(95));
    const f = new RotatingLogFile(path, 100, 1, noErrors);
    f.write(line(1));                       // 95 + 10 > 100: rotate first
    f.close();
    assert.is(readFileSync(`${path}.1`, 'utf8'), 'x'.repeat(95));
    assert.is(readFileSync(path, 'utf8'), line(1));
  } finally {
    done();
  }
});

test('a line longer than the maximum still goes into a fresh file', () => {
  const { path, done } = scratch();
  try {
    const f = new RotatingLogFile(path, 10, 2, noErrors);
    const long = `${'y'.repeat(30)}\n`;
    f.write(long);
    f.write(long);
    f.close();
    assert.is(readFileSync(path, 'utf8'), long);
    assert.is(readFileSync(`${path}.1`, 'utf8'), long);
  } finally {
    done();
  }
});

test('reopen starts a new file after an outside rotation moved the old one', () => {
  const { dir, path, done } = scratch();
  try {
    const f = new RotatingLogFile(path, 0, 0, noErrors);
    f.write(line(1));
    renameSync(path, join(dir, 'moved.log'));
    f.write(line(2));                      // still into the moved file
    f.reopen();
    f.write(line(3));
    f.close();
    f.write(line(4));                      // closed: ignored
    assert.is(readFileSync(join(dir, 'moved.log'), 'utf8'), line(1) + line(2));
    assert.is(readFileSync(path, 'utf8'), line(3));
  } finally {
    done();
  }
});

test('a file that cannot be opened throws at construction; later failures are reported once, not thrown', async () => {
  const { dir, path, done } = scratch();
  try {
    assert.throws(() => new RotatingLogFile(join(dir, 'missing', 'x.log'), 0, 0, noErrors), /ENOENT/);
    const errors: string[] = [];
    const f = new RotatingLogFile(path, 0, 0, (m) => errors.push(m));
    rmSync(dir, { recursive: true, force: true });
    f.reopen();                            // the directory is gone
    f.write(line(1));
    f.write(line(2));
    await Promise.resolve();               // reports are queued as microtasks
    assert.is(errors.length, 1, errors.join(' | '));
    assert.match(errors[0]!, /cannot open log file .*pafd\.log: ENOENT/);
    f.close();
  } finally {
    done();
  }
});

test('file lines: ISO-8601 UTC time, level, message', () => {
  assert.is(fileLine('warning', 'disk on fire', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))),
    '2024-01-02T03:04:05.006Z WARNING disk on fire\n');
});

test.run();
