// pafbench (dist/pafbench.js) against a real pafd: the original output
// format, the JSON shape of --json --quick, the extra text sections, and
// argument errors. Figures are checked for form and sanity, never speed.
// Also the pure parts: option parsing, percentiles, /proc parsing.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WireClient } from '../../src/client/wire';
import { BenchUsageError, parseBenchArgs } from '../../src/cli/bench/options';
import { originalLines } from '../../src/cli/bench/report';
import { parseProcStatus } from '../../src/cli/bench/rss';
import { mean, opsPerSecond, percentile } from '../../src/cli/bench/stats';
import type { Pafd } from '../helpers/pafd';
import { startPafd, tempDir } from '../helpers/pafd';

const PAFBENCH = join(process.cwd(), 'dist', 'pafbench.js');

function runBench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [PAFBENCH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('close', (code) => resolve({ code, out, err }));
  });
}

const isNonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks that `obj` has exactly `keys`, each passing its check. */
function shape(obj: unknown, checks: Record<string, (v: unknown) => boolean>, where: string): void {
  assert.type(obj, 'object', where);
  assert.ok(obj !== null, where);
  assert.equal(Object.keys(obj as object).sort(), Object.keys(checks).sort(), `keys of ${where}`);
  for (const [key, check] of Object.entries(checks)) {
    assert.ok(check((obj as Record<string, unknown>)[key]), `${where}.${key} = ${JSON.stringify((obj as Record<string, unknown>)[key])}`);
  }
}

const OPERATION_LINE = /^(Subscribe|Unsubscribe|Publish|Unpublish|Ping): +(\d+\.\d{3}) ms$/;

let pafd: Pafd;
let address: string;

const bench = suite('pafbench against pafd');
bench.before(async () => {
  pafd = await startPafd(['tcp:127.0.0.1:0']);
  address = pafd.addresses[0]!;
});
bench.after(async () => { await pafd.stop(); });

/** Services and subscriptions left on the server. */
async function leftovers(): Promise<{ services: number; subscriptions: number }> {
  const client = await WireClient.connect(address);
  try {
    const services = (await client.services()).length;
    const subscriptions = (await client.subscriptions()).length;
    return { services, subscriptions };
  } finally {
    client.close();
  }
}

bench('the original mode: header, five operation lines, nothing left behind', async () => {
  const { code, out, err } = await runBench(['40', '20', address]);
  assert.is(code, 0, err);
  const lines = out.trimEnd().split('\n');
  assert.is(lines.length, 6, out);
  assert.is(lines[0], 'Pre-populated with 40 services and 20 subscriptions.');
  assert.equal(lines.slice(1).map((l) => OPERATION_LINE.exec(l)?.[1]), ['Subscribe', 'Unsubscribe', 'Publish', 'Unpublish', 'Ping'], out);
  for (const l of lines.slice(1)) assert.ok(Number(OPERATION_LINE.exec(l)![2]) > 0, l);
  assert.equal(await leftovers(), { services: 0, subscriptions: 0 });
});

bench('--json --quick --pid: one JSON object of the documented shape', async () => {
  const { code, out, err } = await runBench(['--json', '--quick', '--pid', String(pafd.pid), address]);
  assert.is(code, 0, err);
  assert.is(out.trimEnd().split('\n').length, 1, 'one line');
  const r = JSON.parse(out) as Record<string, unknown>;
  shape(r, {
    schema: (v) => v === 'pafbench/1',
    target: (v) => v === address,
    protocolVersion: (v) => v === 3,
    quick: (v) => v === true,
    prepopulated: (v) => { shape(v, { services: (n) => n === 100, subscriptions: (n) => n === 100, seconds: isNonNegative }, 'prepopulated'); return true; },
    msPerOp: (v) => { shape(v, { subscribe: isNonNegative, unsubscribe: isNonNegative, publish: isNonNegative, unpublish: isNonNegative, ping: isNonNegative }, 'msPerOp'); return true; },
    pipelined: (v) => {
      const rate = (t: unknown) => { shape(t, { oneConnection: isNonNegative, manyConnections: isNonNegative }, 'rate'); return true; };
      shape(v, {
        operations: (n) => n === 200, connections: (n) => n === 2, window: (n) => n === 1024,
        opsPerSecond: (o) => { shape(o, { publish: rate, subscribe: rate, ping: rate }, 'opsPerSecond'); return true; },
      }, 'pipelined');
      return true;
    },
    fanout: (v) => {
      shape(v, {
        subscriptions: (n) => n === 20, connections: (n) => n === 2, samples: (n) => n === 10,
        p50Ms: isNonNegative, p99Ms: isNonNegative, meanMs: isNonNegative, maxMs: isNonNegative,
      }, 'fanout');
      const f = v as Record<string, number>;
      assert.ok(f.p50Ms! <= f.p99Ms! && f.p99Ms! <= f.maxMs!, 'p50 <= p99 <= max');
      return true;
    },
    serverRss: (v) => {
      shape(v, { pid: (n) => n === pafd.pid, beforeKiB: (n) => isCount(n) && (n as number) > 0, afterKiB: (n) => isCount(n) && (n as number) > 0, peakKiB: isCount }, 'serverRss');
      return true;
    },
  }, 'report');
  assert.equal(await leftovers(), { services: 0, subscriptions: 0 });
});

bench('text sections for --pipelined and --fanout; JSON sections are null when not asked for', async () => {
  const text = await runBench(['--pipelined', '--ops', '30', '--connections', '3', '--fanout', '6,2', '--samples', '4', '5', '5', address]);
  assert.is(text.code, 0, text.err);
  const lines = text.out.trimEnd().split('\n');
  assert.is(lines.length, 6 + 4 + 2, text.out);
  assert.is(lines[6], 'Pipelined throughput (30 operations per figure, 1024 outstanding per connection):');
  for (const [i, label] of [[7, 'Publish'], [8, 'Subscribe'], [9, 'Ping']] as const) {
    assert.match(lines[i]!, new RegExp(`^ {2}${label}: +\\d+ ops/s over 1 connection, \\d+ ops/s over 3$`));
  }
  assert.is(lines[10], 'Fan-out latency (6 subscriptions over 2 connections, 4 publishes):');
  assert.match(lines[11]!, /^ {2}p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms, mean \d+\.\d{3} ms, max \d+\.\d{3} ms$/);

  const json = await runBench(['--json', '3', '2', address]);
  assert.is(json.code, 0, json.err);
  const r = JSON.parse(json.out) as Record<string, unknown>;
  assert.is(r.pipelined, null);
  assert.is(r.fanout, null);
  assert.is(r.serverRss, null);
  assert.is(r.quick, false);
  assert.equal(await leftovers(), { services: 0, subscriptions: 0 });
});

bench('a domain name as the target', async () => {
  const dir = tempDir('pafbench-domains-');
  writeFileSync(join(dir, 'bench'), `${address}\n`);
  const { code, out, err } = await runBench(['2', '2', 'bench'], { PAF_DOMAINS: dir });
  assert.is(code, 0, err);
  assert.match(out, /^Pre-populated with 2 services and 2 subscriptions\.\n/);
});

bench('wrong arguments: usage and exit 1; unreachable server: exit 1', async () => {
  for (const args of [[], ['1', '2'], ['1', '2', '3', '4'], ['x', '1', address], ['--fanout', '3', '1', '1', address], ['--bogus', '1', '1', address]]) {
    const r = await runBench(args);
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.err, /Usage: pafbench/, args.join(' '));
    assert.is(r.out, '');
  }
  const refused = await runBench(['1', '1', 'tcp:127.0.0.1:1']);
  assert.is(refused.code, 1);
  assert.match(refused.err, /^pafbench: .*ECONNREFUSED/);
  const help = await runBench(['--help']);
  assert.is(help.code, 0);
  assert.match(help.out, /^Usage: pafbench /);
});

const pure = suite('pafbench pure parts');

pure('option parsing: original form, --quick defaults, explicit options win', () => {
  assert.equal(parseBenchArgs(['10', '20', 'dom']), { kind: 'run', options: { numServices: 10, numSubscriptions: 20, target: 'dom', json: false, quick: false, timeoutSeconds: 5 } });
  assert.equal(parseBenchArgs(['--timeout', '2.5', '10', '20', 'dom']), { kind: 'run', options: { numServices: 10, numSubscriptions: 20, target: 'dom', json: false, quick: false, timeoutSeconds: 2.5 } });
  assert.equal(parseBenchArgs(['--quick', 'tcp:a:1']), {
    kind: 'run',
    options: {
      numServices: 100, numSubscriptions: 100, target: 'tcp:a:1', json: false, quick: true, timeoutSeconds: 5,
      pipelined: { operations: 200, connections: 2 }, fanout: { subscriptions: 20, connections: 2, samples: 10 },
    },
  });
  const o = parseBenchArgs(['--quick', '--json', '--ops=50', '--fanout', '7,3', '--pid', '42', '1', '2', 'x']);
  assert.equal(o, {
    kind: 'run',
    options: {
      numServices: 1, numSubscriptions: 2, target: 'x', json: true, quick: true, timeoutSeconds: 5,
      pipelined: { operations: 50, connections: 2 }, fanout: { subscriptions: 7, connections: 3, samples: 10 }, serverPid: 42,
    },
  });
  assert.equal(parseBenchArgs(['--pipelined', '1', '1', 'x']), {
    kind: 'run', options: { numServices: 1, numSubscriptions: 1, target: 'x', json: false, quick: false, timeoutSeconds: 5, pipelined: { operations: 10000, connections: 4 } },
  });
  assert.equal(parseBenchArgs(['-h']), { kind: 'help' });
  for (const bad of [['x'], ['--quick'], ['--connections', '0', '1', '1', 'x'], ['--fanout', '0,1', '1', '1', 'x'], ['--samples', '3', '1', '1', 'x'], ['--pid'], ['-1', '1', 'x']]) {
    assert.throws(() => parseBenchArgs(bad), (e: Error) => e instanceof BenchUsageError, bad.join(' '));
  }
});

pure('percentiles by nearest rank, mean, ops per second', () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(percentile(sorted, 50), 50);
  assert.is(percentile(sorted, 99), 99);
  assert.is(percentile(sorted, 100), 100);
  assert.is(percentile([7], 99), 7);
  assert.is(percentile([1, 2, 3], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.is(mean([1, 2, 6]), 3);
  assert.is(opsPerSecond(500, 250), 2000);
  assert.ok(Number.isFinite(opsPerSecond(5, 0)));
});

pure('/proc/<pid>/status parsing and the original lines', () => {
  assert.equal(parseProcStatus('Name:\tnode\nVmHWM:\t  61000 kB\nVmRSS:\t  52000 kB\n'), { rssKiB: 52000, peakKiB: 61000 });
  assert.equal(parseProcStatus('VmRSS: 10 kB\n'), { rssKiB: 10, peakKiB: undefined });
  assert.throws(() => parseProcStatus('Name: kthreadd\n'));
  assert.equal(originalLines(3, 4, { subscribe: 0.1234, unsubscribe: 1, publish: 12.3456, unpublish: 0, ping: 0.0005 }), [
    'Pre-populated with 3 services and 4 subscriptions.',
    'Subscribe:   0.123 ms',
    'Unsubscribe: 1.000 ms',
    'Publish:     12.346 ms',
    'Unpublish:   0.000 ms',
    'Ping:        0.001 ms',
  ]);
});

bench.run();
pure.run();
