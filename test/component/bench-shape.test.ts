// Issue 7's CI check: `npm run bench -- --quick --json` runs against our
// pafd and its output has the documented shape. Figures are not judged
// here (speed targets live in the benchmark, never in assertions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function isNumber(v: unknown): boolean { return typeof v === 'number' && Number.isFinite(v); }

test('bench --quick --json prints one pafd-bench/1 object with every section and a PNG', () => {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'build', 'bench.mjs'), '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const last = r.stdout.trim().split('\n').pop()!;
  const d = JSON.parse(last);
  assert.is(d.schema, 'pafd-bench/1');
  assert.is(d.quick, true);
  for (const op of ['subscribe', 'unsubscribe', 'publish', 'unpublish', 'ping']) assert.ok(isNumber(d.pafbench.msPerOp[op]), `pafbench.msPerOp.${op}`);
  assert.ok(Array.isArray(d.growth.steps) && d.growth.steps.length > 0, 'growth.steps');
  assert.ok(isNumber(d.growth.meanRate) && isNumber(d.growth.rawMeanRate) && isNumber(d.growth.ratio), 'growth rates');
  for (const k of ['idleRssMiB', 'rss10kMiB', 'rssPlusClientsMiB', 'rawIdleRssMiB']) assert.ok(isNumber(d.memory[k]), `memory.${k}`);
  assert.ok(isNumber(d.fanout.p50Ms) && isNumber(d.fanout.maxMs), 'fanout');
  assert.ok(isNumber(d.ping.usPerMsg) && isNumber(d.ping.ratio), 'ping');
  for (const k of ['idleRssMiB', 'rss10kMiB', 'rssPlusClientsMiB', 'meanRate']) assert.ok(isNumber(d.memory.board[k]), `memory.board.${k}`);
  const storm = d.storm.default;
  assert.is(storm.schema, 'pafd-storm/1');
  assert.ok(storm.verified, 'the storm scenario verified the directory after the storm');
  for (const k of ['fullStateMs', 'rssMiB', 'peakRssMiB', 'stormMs', 'idleCpuPercent']) {
    assert.ok(isNumber(storm[k]), `storm.${k}`);
    assert.ok(isNumber(storm.raw[k]), `storm.raw.${k}`);
  }
  assert.ok(existsSync(d.png), 'plot written');
});

test.run();
