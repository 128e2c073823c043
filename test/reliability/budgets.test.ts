// Issue 12: no single client can take pafd down. Each scenario starts
// pafd as the armv7-small board runs it (its NODE_OPTIONS heap flags and
// its resource limits, targets/armv7-small.*), attacks it from 127.0.0.1
// and then checks, from another user (127.0.0.2), that
//  * a bystander gets hello, publish, subscribe and ping through, and its
//    pings kept being answered during the attack (p99 reported);
//  * pafd is alive and its peak RSS stayed under the unit's MemoryMax;
//  * the attacker's excess requests failed `insufficient-resources`, and
//    pafd named the budget in its log.
// One `test(...)` per attack; the set-up they share (board pafd,
// bystander, RSS sampling, a pipelining client) is in ./harness.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Pafd } from '../helpers/pafd';
import {
  BOARD_MEMORY_MAX, BYSTANDER_HOST, Pipeliner, RssSampler, ThreadProbe, alive, bystanderRoundTrip, figure, load, mib, startBoardPafd,
} from './harness';

const BOARD = 'armv7-small';
/** Per-user limits of targets/armv7-small.yaml the attacks run up to. */
const USER_SERVICES = 2500;
const USER_SUBSCRIPTIONS = 2500;
const INSUFFICIENT = 'fail:insufficient-resources';
/** Bytes of props in one hostile service: far inside the 65,535-byte message limit. */
const SERVICE_PROPS_BYTES = 60_000;
/** Replies to a whole pipelined attack must be in by then (2 cores shared, 150 MB of requests in the long form). */
const REPLIES_TIMEOUT_MS = load(60_000, 300_000);

/** What every scenario observes around its attack. */
interface Watch {
  pafd: Pafd;
  address: string;
  rss: RssSampler;
  probe: ThreadProbe;
}

/** Starts the board pafd, the RSS sampler and the bystander's ping probe. */
async function watchBoard(): Promise<Watch> {
  const pafd = await startBoardPafd(BOARD);
  const address = pafd.addresses[0]!;
  return { pafd, address, rss: new RssSampler(pafd.pid, 50), probe: new ThreadProbe(address, 9_000_001n, 10, BYSTANDER_HOST) };
}

/**
 * After an attack: pafd alive, a bystander served, peak RSS under the
 * board's MemoryMax. Returns the figures for the report.
 */
async function checkAfterAttack(w: Watch, serviceId: bigint): Promise<string> {
  assert.ok(alive(w.pafd.proc), 'pafd is alive');
  const roundTrip = await bystanderRoundTrip(w.address, serviceId);
  await w.probe.stop();
  w.rss.stop();
  assert.is(w.probe.failure, undefined, `bystander pings: ${w.probe.failure}`);
  assert.ok(alive(w.pafd.proc), 'pafd is still alive');
  assert.ok(w.rss.max < BOARD_MEMORY_MAX, `peak RSS ${mib(w.rss.max)} under ${mib(BOARD_MEMORY_MAX)}`);
  return `peak RSS ${mib(w.rss.max)}; bystander ${w.probe.summary()}, hello→ping ${roundTrip.toFixed(0)} ms after`;
}

async function stopBoard(w: Watch | undefined): Promise<void> {
  if (w === undefined) return;
  w.rss.stop();
  await w.probe.stop().catch(() => {});
  await w.pafd.stop('SIGKILL');
}

function publishText(ta: number, serviceId: number): string {
  const blob = 'x'.repeat(SERVICE_PROPS_BYTES - 20);
  return `{"ta-cmd":"publish","ta-id":${ta},"msg-type":"request","service-id":${serviceId},"generation":1,`
    + `"service-props":{"name":["attack-${serviceId}"],"blob":["${blob}"]},"ttl":60}`;
}

function* publishes(count: number): Generator<string> {
  for (let i = 1; i <= count; i++) yield publishText(i, 1_000_000 + i);
}

test('pipelined 60 KB publishes up to the service limit', async () => {
  const count = load(400, USER_SERVICES);
  let w: Watch | undefined;
  let attacker: Pipeliner | undefined;
  try {
    w = await watchBoard();
    attacker = await Pipeliner.open(w.address, 1_000n);
    await attacker.send(publishes(count));
    await attacker.repliesReach(count, REPLIES_TIMEOUT_MS);
    assert.ok(alive(w.pafd.proc) && !w.rss.lost, `pafd survived the attack${w.pafd.log.slice(-3).map((l) => `\n${l}`).join('')}`);
    assert.not.ok(attacker.closed, 'the attacker is answered, not cut off');
    const complete = attacker.count('complete'), refused = attacker.count(INSUFFICIENT);
    assert.is(complete + refused, count, `every publish answered complete or insufficient-resources: ${[...attacker.tally]}`);
    assert.ok(complete > 0 && refused > 0, `some accepted (${complete}), the excess refused (${refused})`);
    await w.pafd.waitForLog(/publish of service .* failed: insufficient-resources \(memory budget of user ip:127\.0\.0\.1 /);
    const figures = await checkAfterAttack(w, 9_100_001n);
    figure('budgets: 60 KB publishes', `${count} pipelined from one address, ${BOARD} heap flags and limits`,
      `${complete} accepted, ${refused} refused insufficient-resources; ${figures}`);
  } finally {
    attacker?.close();
    await stopBoard(w);
  }
});

/** A filter of `comparisons` presence tests on keys padded to make it about `bytes` long. */
function wideFilter(comparisons: number, bytes: number, tag: number): string {
  const pad = Math.max(1, Math.floor(bytes / comparisons) - 6);
  const key = 'k'.repeat(pad);
  let text = `(|(tag=${tag})`;
  for (let i = 1; i < comparisons; i++) text += `(${key}=*)`;
  return text + ')';
}

function subscribeText(ta: number, subscriptionId: number, filter: string): string {
  return `{"ta-cmd":"subscribe","ta-id":${ta},"msg-type":"request","subscription-id":${subscriptionId},"filter":"${filter}"}`;
}

test('pipelined 60 KB filters: 12,000 operands, and at the caps', async () => {
  const hugeCount = load(100, 500);
  const wideCount = load(200, USER_SUBSCRIPTIONS);
  let w: Watch | undefined;
  let attacker: Pipeliner | undefined;
  try {
    w = await watchBoard();
    attacker = await Pipeliner.open(w.address, 2_000n);
    // 60 KB of `(k=*)`: 12,000 operands, past the comparison cap.
    const huge = '(|' + '(k=*)'.repeat(12_000) + ')';
    const hugeRequests = function* () { for (let i = 1; i <= hugeCount; i++) yield subscribeText(i, 2_000_000 + i, huge); };
    await attacker.send(hugeRequests());
    await attacker.repliesReach(hugeCount, REPLIES_TIMEOUT_MS);
    assert.ok(alive(w.pafd.proc) && !w.rss.lost, 'pafd survived the 12,000-operand filters');
    assert.is(attacker.count(INSUFFICIENT), hugeCount, `every 12,000-operand filter refused: ${[...attacker.tally]}`);
    await w.pafd.waitForLog(/subscribe with filter too large: more than 1000 comparisons/);
    // 60 KB filters within the caps (1,000 comparisons): the memory budget refuses the excess.
    const wideRequests = function* () {
      for (let i = 1; i <= wideCount; i++) yield subscribeText(hugeCount + i, 3_000_000 + i, wideFilter(1000, 60_000, i));
    };
    await attacker.send(wideRequests());
    await attacker.repliesReach(hugeCount + wideCount, REPLIES_TIMEOUT_MS);
    assert.not.ok(attacker.closed, 'the attacker is answered, not cut off');
    const accepted = attacker.count('accept'), refused = attacker.count(INSUFFICIENT) - hugeCount;
    assert.is(accepted + refused, wideCount, `every subscribe answered accept or insufficient-resources: ${[...attacker.tally]}`);
    assert.ok(accepted > 0 && refused > 0, `some accepted (${accepted}), the excess refused (${refused})`);
    await w.pafd.waitForLog(/subscribe 0x[0-9a-f]+ failed: insufficient-resources \(memory budget of user ip:127\.0\.0\.1 /);
    const figures = await checkAfterAttack(w, 9_200_001n);
    figure('budgets: 60 KB filters', `${hugeCount} of 12,000 operands, then ${wideCount} of 1,000 (60 KB each), pipelined, ${BOARD}`,
      `${hugeCount} refused by the filter cap; ${accepted} accepted, ${refused} refused by the memory budget; ${figures}`);
  } finally {
    attacker?.close();
    await stopBoard(w);
  }
});

test.run();


