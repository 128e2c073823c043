// Issue 7's CI check: `npm run bench -- --quick --json` runs against our
// pafd and its output has the documented shape. Figures are not judged
// here (speed targets live in the benchmark, never in assertions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function isNumber(v: unknown): boolean { return typeof v === 'number' && Number.isFinite(v); }
/** Ratios and slopes are null where a figure they derive from is missing (e.g. a kernel without RssAnon). */
function isNumberOrNull(v: unknown): boolean { return v === null || isNumber(v); }

/** RssAnon (private anonymous memory) and RssFile beside every RSS figure of a memory section. */
const MEMORY_FIELDS = [
  'idleRssMiB', 'idleRssAnonMiB', 'idleRssFileMiB',
  'rss10kMiB', 'rssAnon10kMiB', 'rssFile10kMiB',
  'rssPlusClientsMiB', 'rssAnonPlusClientsMiB', 'rssFilePlusClientsMiB',
  'rssMaxMiB', 'rssAnonMaxMiB', 'rssFileMaxMiB',
];
/** The pafd/raw ratios the table prints, all in the `ratios` object. */
const RATIOS = [
  'batchPublish', 'batchPing', 'pipelinedPublishMean', 'pipelinedPublishSlowestStep',
  'idleRss', 'idleRssAnon', 'rss10k', 'rssAnon10k', 'rssPlusClients', 'rssAnonPlusClients', 'rssMax', 'rssAnonMax',
  'boardIdleRss', 'boardIdleRssAnon', 'boardRss10k', 'boardRssAnon10k', 'boardRssPlusClients', 'boardRssAnonPlusClients',
  'boardRssMax', 'boardRssAnonMax', 'boardPipelinedPublishMean',
  'fanoutP50', 'ping', 'stormFullState', 'stormRss', 'stormRssAnon', 'reconnectStorm', 'stormIdleCpu', 'stormCpuPerRoundTrip',
];

test('bench --quick --json prints one pafd-bench/1 object with every section and a PNG', () => {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'build', 'bench.mjs'), '--quick', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const last = r.stdout.trim().split('\n').pop()!;
  const d = JSON.parse(last);
  assert.is(d.schema, 'pafd-bench/1');
  assert.is(d.quick, true);
  for (const op of ['subscribe', 'unsubscribe', 'publish', 'unpublish', 'ping']) assert.ok(isNumber(d.pafbench.msPerOp[op]), `pafbench.msPerOp.${op}`);
  assert.ok(Array.isArray(d.growth.steps) && d.growth.steps.length > 0, 'growth.steps');
  for (const steps of ['steps', 'rawSteps']) {
    for (const s of d.growth[steps]) {
      for (const k of ['rssMiB', 'rssAnonMiB', 'rssFileMiB']) assert.ok(isNumber(s[k]), `growth.${steps}[${s.services}].${k}`);
    }
  }
  assert.ok(isNumber(d.growth.meanRate) && isNumber(d.growth.rawMeanRate) && isNumber(d.growth.ratio), 'growth rates');
  for (const k of ['idleRssMiB', 'rss10kMiB', 'rssPlusClientsMiB', 'rawIdleRssMiB']) assert.ok(isNumber(d.memory[k]), `memory.${k}`);
  for (const section of [d.memory, d.memory.board]) {
    for (const k of MEMORY_FIELDS) {
      assert.ok(isNumber(section[k]), `memory${section === d.memory ? '' : '.board'}.${k}`);
      const rawKey = `raw${k[0].toUpperCase()}${k.slice(1)}`;
      assert.ok(isNumber(section[rawKey]), `memory${section === d.memory ? '' : '.board'}.${rawKey}`);
    }
    assert.ok(isNumberOrNull(section.bytesPerServiceRssAnon), 'bytesPerServiceRssAnon');
  }
  assert.ok(isNumber(d.fanout.p50Ms) && isNumber(d.fanout.maxMs), 'fanout');
  assert.ok(isNumber(d.ping.usPerMsg) && isNumber(d.ping.ratio), 'ping');
  for (const k of ['idleRssMiB', 'rss10kMiB', 'rssPlusClientsMiB', 'meanRate']) assert.ok(isNumber(d.memory.board[k]), `memory.board.${k}`);
  const storm = d.storm.default;
  assert.is(storm.schema, 'pafd-storm/1');
  assert.ok(storm.verified, 'the storm scenario verified the directory after the storm');
  for (const k of ['fullStateMs', 'rssMiB', 'rssAnonMiB', 'rssFileMiB', 'peakRssMiB', 'rssAnonAfterStormMiB', 'rssAnonIdleMiB', 'stormMs', 'idleCpuPercent']) {
    assert.ok(isNumber(storm[k]), `storm.${k}`);
    assert.ok(isNumber(storm.raw[k]), `storm.raw.${k}`);
  }
  assert.ok(isNumber(storm.ratio.rssAnon), 'storm.ratio.rssAnon');
  // The storm's raw reference is a fair floor only while it sends what pafd
  // sends: every service is matched by one subscription, so each server
  // delivers at least one notification per service (appeared) before the
  // storm; how many the storm adds depends on the order clients come back,
  // so the two counts are close, not equal (a reference that fanned every
  // publish out to every subscription would send hundreds of times more).
  for (const [who, counters] of [['pafd', storm.clientCounters], ['raw', storm.raw.clientCounters]] as const) {
    assert.ok(counters.notifies >= storm.services, `${who}'s clients received ${counters.notifies} notifications for ${storm.services} services`);
  }
  const notifyRatio = storm.raw.clientCounters.notifies / storm.clientCounters.notifies;
  assert.ok(notifyRatio >= 0.5 && notifyRatio <= 2, `raw reference sent ${notifyRatio.toFixed(2)}× pafd's notifications`);
  assert.type(d.ratios, 'object');
  for (const k of RATIOS) assert.ok(isNumberOrNull(d.ratios[k]), `ratios.${k}`);
  // The ratios of figures the quick run always has are numbers, not null.
  for (const k of ['pipelinedPublishMean', 'idleRss', 'idleRssAnon', 'rss10k', 'rssAnon10k', 'stormRss', 'stormRssAnon', 'ping']) {
    assert.ok(isNumber(d.ratios[k]), `ratios.${k} is a number`);
  }
  assert.ok(existsSync(d.png), 'plot written');
});

test.run();
