// Conformance §6 (robustness R1–R9) over the matrix transport, the
// malformed-input rules of docs/protocol.md §2 and §4.3, and the crash defects
// of the original (docs/discrepancies.md B2, B4, B13): every bad input closes
// only the offending connection, without a reply, and a client that was
// connected all along still answers ping afterwards.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../../helpers/pafd';
import { freshAddress, withRawBytes } from '../../helpers/transport';
import type { Pafd } from '../../helpers/pafd';
import { WireClient, randomId } from '../../helpers/wire';
import type { Msg } from '../../helpers/wire';
import {
  assertPings, collect, frameHeader, inBatches, nowS, openTracked, openV2, pace, pingLatency, publishMany, rssBytes,
} from '../../helpers/robust';

/** Conformance R6/R8: other clients' ping round trip while one client loads the server. */
const MAX_PING_LATENCY_S = 0.5;
/** XCM's TCP/TLS receive limit (docs/transports.md §3). */
const MAX_FRAME = 262144;
/** Way beyond the JSON parser's nesting bound, still within one 65535-byte message. */
const DEEP_NESTING = 30000;

interface Ctx { pafd: Pafd; address: string; bystander: WireClient }
const t = suite<Ctx>('robustness', {} as Ctx);

t.before(async (ctx) => {
  ctx.pafd = await startPafd([freshAddress()]);
  ctx.address = ctx.pafd.addresses[0]!;
  // The already-connected client that must keep working (v2: never idled out).
  ctx.bystander = await openV2(ctx.address);
});
t.after(async (ctx) => {
  ctx.bystander?.close();
  await ctx.pafd.stop();
});

/** What a case gets to prepare its bad input with: a handshaked v3 connection and its state. */
interface Victim { c: WireClient; trackTa: bigint; subTa: bigint }

/** A v3 connection with an open track transaction and an open subscription, nothing unread. */
async function openVictim(address: string): Promise<Victim> {
  const { c, ta: trackTa } = await openTracked(address);
  const { ta: subTa, reply } = await c.subscribe(randomId(), '(name=robustness-nothing)');
  assert.is(reply['msg-type'], 'accept');
  return { c, trackTa, subTa };
}

/**
 * One bad input per case. `send` gets the victim and writes the input; the
 * victim must then be closed with nothing sent to it.
 */
const BAD_INPUTS: [id: string, what: string, send: (v: Victim) => void | Promise<void>][] = [
  // Conformance R1.
  ['R1', 'an unknown command', ({ c }) => c.sendFrame('{"ta-cmd":"frobnicate","ta-id":100,"msg-type":"request"}')],
  ['R1', 'a fail-type message', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100,"msg-type":"fail","fail-reason":"no-hello"}')],
  ['R1', 'a negative ta-id', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":-1,"msg-type":"request"}')],
  ['R1', 'ta-id 2^63', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":9223372036854775808,"msg-type":"request"}')],
  ['R1', 'a hello with client-id 2^99', ({ c }) => c.sendFrame('{"ta-cmd":"hello","ta-id":100,"msg-type":"request","client-id":633825300114114700748351602688,"protocol-minimum-version":2,"protocol-maximum-version":3}')],
  ['R1', 'services with an extra client-id field', ({ c }) => c.sendFrame('{"ta-cmd":"services","ta-id":100,"msg-type":"request","client-id":5}')],
  ['R1', 'a message without ta-id', ({ c }) => c.sendFrame('{"ta-cmd":"ping","msg-type":"request"}')],
  ['R1', 'a message without ta-cmd', ({ c }) => c.sendFrame('{"ta-id":100,"msg-type":"request"}')],
  ['R1', 'a message without msg-type', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100}')],
  ['R1', 'subscribe without subscription-id', ({ c }) => c.sendFrame('{"ta-cmd":"subscribe","ta-id":100,"msg-type":"request","filter":"(a=b)"}')],
  ['R1', 'publish with a prop value that is not a list', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"name":"x"},"ttl":5}')],
  ['R1', 'publish with a float in a prop list', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"name":[1.5]},"ttl":5}')],
  ['R1', 'publish with a prop integer beyond 64 bits', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"n":[18446744073709551616]},"ttl":5}')],
  ['R1', 'non-JSON bytes', ({ c }) => c.sendFrame(Buffer.from('this is not JSON \x01\x02\x03', 'latin1'))],
  ['R1', 'truncated JSON', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100,"msg-type":"requ')],
  // R2: null, even for an optional field.
  ['R2', 'null as the optional filter of subscribe', ({ c }) => c.sendFrame(`{"ta-cmd":"subscribe","ta-id":100,"msg-type":"request","subscription-id":${randomId()},"filter":null}`)],
  ['R2', 'null as the optional filter of services', ({ c }) => c.sendFrame('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":null}')],
  // R3, and docs/protocol.md §4.3 "request reusing an open ta-id".
  ['R3', 'a request reusing the ta-id of a live subscription', ({ c, subTa }) => c.send('ping', subTa, 'request')],
  ['R3', 'a subscribe reusing the ta-id of a live subscription', ({ c, subTa }) => c.send('subscribe', subTa, 'request', { 'subscription-id': randomId() })],
  ['R3', 'a request reusing the ta-id of the open track', ({ c, trackTa }) => c.send('services', trackTa, 'request')],
  // R4 = B2, B4: these crashed the original server.
  ['R4 B2', 'an inform in a subscribe transaction', ({ c, subTa }) => c.sendFrame(`{"ta-cmd":"subscribe","ta-id":${subTa},"msg-type":"inform"}`)],
  ['R4 B2', 'an inform in a subscribe transaction with a track-type', ({ c, subTa }) => c.sendFrame(`{"ta-cmd":"subscribe","ta-id":${subTa},"msg-type":"inform","track-type":"query"}`)],
  ['R4 B4', 'a top-level JSON array', ({ c }) => c.sendFrame('[1,2]')],
  ['R4 B4', 'a top-level JSON number', ({ c }) => c.sendFrame('42')],
  ['R4 B4', 'a top-level JSON string', ({ c }) => c.sendFrame('"ping"')],
  ['R4 B4', 'a top-level JSON null', ({ c }) => c.sendFrame('null')],
  // R5: framing.
  ['R5', `a frame announcing ${MAX_FRAME + 1} bytes`, ({ c }) => c.sendBytes(Buffer.concat([frameHeader(MAX_FRAME + 1), Buffer.alloc(1024, 0x20)]))],
  ['R5', 'a frame of length 0', ({ c }) => c.sendBytes(frameHeader(0))],
  // docs/protocol.md §4.3: message types the client must not send.
  ['§4.3', 'an accept from the client', ({ c }) => c.sendFrame('{"ta-cmd":"subscribe","ta-id":100,"msg-type":"accept"}')],
  ['§4.3', 'a notify from the client in its own track', ({ c, trackTa }) => c.sendFrame(`{"ta-cmd":"track","ta-id":${trackTa},"msg-type":"notify","track-type":"query"}`)],
  ['§4.3', 'a complete from the client', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100,"msg-type":"complete"}')],
  ['§4.3', 'a complete from the client for its live subscription', ({ c, subTa }) => c.sendFrame(`{"ta-cmd":"subscribe","ta-id":${subTa},"msg-type":"complete"}`)],
  ['§4.3', 'an unknown msg-type', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100,"msg-type":"bogus"}')],
  ['§4.3', 'an inform for a transaction that never existed', ({ c }) => c.sendFrame('{"ta-cmd":"track","ta-id":100,"msg-type":"inform","track-type":"query"}')],
  ['§4.3', 'an inform for a finished (failed) track transaction', async ({ c }) => {
    const ta = c.taId();
    c.send('track', ta, 'request');
    const r = await c.nextOf(ta);
    assert.is(r['fail-reason'], 'track-exists');
    c.send('track', ta, 'inform', { 'track-type': 'query' });
  }],
  ['§4.3', 'an inform for a finished ping transaction', async ({ c }) => {
    const ta = c.taId();
    c.send('ping', ta, 'request');
    assert.is((await c.nextOf(ta))['msg-type'], 'complete');
    c.send('track', ta, 'inform', { 'track-type': 'query' });
  }],
  ['§4.3', 'a track inform naming the ta-id of a live subscription (ta-cmd mismatch)', ({ c, subTa }) => c.send('track', subTa, 'inform', { 'track-type': 'query' })],
  ['§4.3', 'a subscribe inform naming the ta-id of the track (ta-cmd mismatch)', ({ c, trackTa }) => c.sendFrame(`{"ta-cmd":"subscribe","ta-id":${trackTa},"msg-type":"inform","track-type":"query"}`)],
  // docs/protocol.md §2: JSON typing.
  ['§2', '5.0 as ta-id', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":5.0,"msg-type":"request"}')],
  ['§2', '5e0 as ta-id', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":5e0,"msg-type":"request"}')],
  ['§2', '5.0 as a publish ttl', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{},"ttl":5.0}')],
  ['§2', 'duplicate keys', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":100,"ta-id":101,"msg-type":"request"}')],
  ['§2', 'duplicate prop names', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"a":["x"],"a":["y"]},"ttl":5}')],
  ['§2', 'an escaped U+0000 in a filter', ({ c }) => c.sendFrame('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":"(a=b\\u0000)"}')],
  ['§2', 'an escaped U+0000 in a prop value', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"a":["x\\u0000y"]},"ttl":5}')],
  ['§2', 'a raw U+0000 byte in a string', ({ c }) => c.sendFrame(Buffer.from('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":"(a=\x00)"}', 'latin1'))],
  ['§2', 'an invalid UTF-8 byte in a string', ({ c }) => c.sendFrame(Buffer.from('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":"(a=\xff)"}', 'latin1'))],
  ['§2', 'an overlong UTF-8 encoding', ({ c }) => c.sendFrame(Buffer.from('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":"(a=\xc0\xaf)"}', 'latin1'))],
  ['§2', 'a UTF-8 encoded surrogate', ({ c }) => c.sendFrame(Buffer.from('{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":"(a=\xed\xa0\x80)"}', 'latin1'))],
  ['§2', `arrays nested ${DEEP_NESTING} deep`, ({ c }) => c.sendFrame(`{"ta-cmd":"services","ta-id":100,"msg-type":"request","filter":${'['.repeat(DEEP_NESTING)}${']'.repeat(DEEP_NESTING)}}`)],
  ['§2', `objects nested ${DEEP_NESTING / 2} deep in props`, ({ c }) => c.sendFrame(`{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":${'{"a":'.repeat(DEEP_NESTING / 8)}[]${'}'.repeat(DEEP_NESTING / 8)},"ttl":5}`)],
  // B13: booleans are not integers.
  ['B13', '"ta-id": true', ({ c }) => c.sendFrame('{"ta-cmd":"ping","ta-id":true,"msg-type":"request"}')],
  ['B13', '"ttl": false', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{},"ttl":false}')],
  ['B13', 'a boolean prop value', ({ c }) => c.sendFrame('{"ta-cmd":"publish","ta-id":100,"msg-type":"request","service-id":1,"generation":0,"service-props":{"a":[true]},"ttl":5}')],
];

/** Cases that write bytes outside the message framing: byte streams only (tcp, tls). */
const FRAMING_CASES = new Set(['R5']);

for (const [id, what, send] of BAD_INPUTS) {
  (FRAMING_CASES.has(id) ? withRawBytes(t) : t)(`${id} ${what} closes only that connection, with no reply`, async ({ address, bystander }) => {
    const victim = await openVictim(address);
    await send(victim);
    await victim.c.expectClosed();
    assert.is(victim.c.unread.length, 0, 'nothing was sent in reply');
    await assertPings(bystander, 'an already-connected client still answers ping');
  });
}

t('R1 the same inputs before any hello close the connection too (garbage, array, boolean ta-id)', async ({ address, bystander }) => {
  for (const payload of ['garbage', '[1,2]', '{"ta-cmd":"ping","ta-id":true,"msg-type":"request"}']) {
    const c = await WireClient.connect(address);
    c.sendFrame(payload);
    await c.expectClosed();
    assert.is(c.unread.length, 0, `no reply to ${payload}`);
  }
  await assertPings(bystander);
});

t('R6 a client that requests 50 × 1000 services without reading does not slow others; it eventually gets all 50 × 1002 messages', async ({ address, bystander }) => {
  const SERVICES = 1000;
  const REQUESTS = 50;
  const publisher = await openV2(address);
  const ids = Array.from({ length: SERVICES }, () => randomId());
  await publishMany(publisher, ids, (i) => ({ name: ['r6'], index: [BigInt(i)], text: [`service number ${i} of the R6 scenario`] }), 60);

  const slow = await openV2(address);
  try {
    slow.pauseReading();
    const tas = new Set<bigint>();
    for (let i = 0; i < REQUESTS; i++) {
      const ta = slow.taId();
      tas.add(ta);
      slow.send('services', ta, 'request', { filter: '(name=r6)' });
    }
    // Latency while the server works through the requests and the slow client's buffers fill up.
    // The ping timeout is long so that a failure reports the latency instead of a timeout.
    let worst = 0;
    const SAMPLES = 20;
    for (let i = 0; i < SAMPLES; i++) {
      worst = Math.max(worst, await pingLatency(bystander, 60000));
      await pace(50);
    }
    assert.ok(worst < MAX_PING_LATENCY_S, `worst ping ${worst.toFixed(3)} s`);
    assert.not.ok(slow.isClosed, 'the slow client is not disconnected');

    slow.resumeReading();
    const msgs = await collect(slow, REQUESTS * (SERVICES + 2), (m) => tas.has(m['ta-id'] as bigint), 60000);
    const perTa = new Map<bigint, { accept: number; notify: number; complete: number }>();
    for (const m of msgs) {
      const ta = m['ta-id'] as bigint;
      let e = perTa.get(ta);
      if (!e) perTa.set(ta, e = { accept: 0, notify: 0, complete: 0 });
      e[m['msg-type'] as 'accept' | 'notify' | 'complete']++;
    }
    assert.is(perTa.size, REQUESTS);
    for (const e of perTa.values()) assert.equal(e, { accept: 1, notify: SERVICES, complete: 1 });
    await slow.expectSilence(100);
  } finally {
    slow.close();
    publisher.close();
  }
});

t('R7 250 tracked publishing and subscribing clients dropped abruptly (75 % FIN, 25 % RST): the server keeps answering', async ({ address, bystander }) => {
  const CLIENTS = 250;
  const CONCURRENCY = 16;
  const observer = await openV2(address);
  const { ta: obsTa, reply } = await observer.subscribe(randomId(), '(name=r7)');
  assert.is(reply['msg-type'], 'accept');

  const clients: WireClient[] = [];
  await inBatches(Array.from({ length: CLIENTS }), CONCURRENCY, async (_, i) => {
    const { c } = await openTracked(address);
    clients.push(c);
    assert.is((await c.publish(randomId(), 0, { name: ['r7'], index: [BigInt(i)] }, 1))['msg-type'], 'complete');
    const s = await c.subscribe(randomId(), `(&(name=r7)(index=${i}))`);
    assert.is(s.reply['msg-type'], 'accept');
  });
  await collect(observer, CLIENTS, (m) => m['ta-id'] === obsTa && m['match-type'] === 'appeared', 10000);
  const ids = new Set(clients.map((c) => c.clientId));

  clients.forEach((c, i) => {
    if (i % 4 === 3) c.abort();
    else c.close();
  });
  await assertPings(bystander, 'ping right after the kill');
  // Every killed client's service becomes an orphan: the server has seen every close.
  const orphaned = await collect(observer, CLIENTS, (m) => m['ta-id'] === obsTa && m['match-type'] === 'modified' && m['orphan-since'] !== undefined, 10000);
  assert.is(orphaned.length, CLIENTS);
  const listed = await bystander.list('clients');
  assert.is(listed.filter((m) => ids.has(m['client-id'] as bigint)).length, 0, 'no killed client is listed');
  await assertPings(bystander);
  const fresh = await WireClient.open(address);
  await assertPings(fresh, 'a new client can connect');
  fresh.close();
  observer.close();
});

t('R8 a client with 5000 services disconnecting does not push ping latency of others to 0.5 s', async ({ address, bystander }) => {
  const SERVICES = 5000;
  const TTL = 1;
  const publisher = await openV2(address);
  await publishMany(publisher, Array.from({ length: SERVICES }, () => randomId()), (i) => ({ name: ['r8'], index: [BigInt(i)] }), TTL);
  assert.is((await bystander.list('services', { filter: '(name=r8)' })).length, SERVICES);

  // Ping through the disconnect (5000 orphans) and the expiry one TTL later (5000 removals).
  const PING_INTERVAL_MS = 100;
  const CLOSE_AFTER_S = 0.3;
  const DURATION_S = CLOSE_AFTER_S + TTL + 1;
  const latencies: number[] = [];
  const start = nowS();
  let closed = false;
  while (nowS() - start < DURATION_S) {
    if (!closed && nowS() - start >= CLOSE_AFTER_S) { publisher.close(); closed = true; }
    latencies.push(await pingLatency(bystander));
    await pace(PING_INTERVAL_MS);
  }
  const worst = Math.max(...latencies);
  assert.ok(worst < MAX_PING_LATENCY_S, `worst ping ${worst.toFixed(3)} s over ${latencies.length} pings`);
  assert.is((await bystander.list('services', { filter: '(name=r8)' })).length, 0, 'all orphans expired one TTL after the close');
});

t('R9 rounds of garbage, hello-and-close and short-lived pub/sub connections do not make memory grow without bound', async ({ pafd, address, bystander }) => {
  const PER_KIND = 250;
  const ROUNDS = 5;
  const CONCURRENCY = 16;
  const MB = 1 << 20;
  const garbage = async () => {
    const c = await WireClient.connect(address);
    c.sendFrame(Buffer.from('\x00garbage\xff{[', 'latin1'));
    await c.expectClosed();
  };
  const helloClose = async () => {
    const c = await WireClient.open(address);
    c.close();
    await c.closed;
  };
  const pubSub = async (i: number) => {
    const { c } = await openTracked(address);
    assert.is((await c.publish(randomId(), 0, { name: ['r9'], index: [BigInt(i)] }, 0))['msg-type'], 'complete');
    const s = await c.subscribe(randomId(), `(index=${i})`);
    assert.is(s.reply['msg-type'], 'accept');
    c.close();
    await c.closed;
  };
  // Every short-lived service ends with a disappeared here: proof the server processed each close.
  const watcher = await openV2(address);
  const { ta: watchTa, reply } = await watcher.subscribe(randomId(), '(name=r9)');
  assert.is(reply['msg-type'], 'accept');
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const work = Array.from({ length: PER_KIND * 3 }, (_, i) => i);
    await inBatches(work, CONCURRENCY, async (i) => {
      if (i % 3 === 0) await garbage();
      else if (i % 3 === 1) await helloClose();
      else await pubSub(i);
    });
    await assertPings(bystander);
    samples.push(rssBytes(pafd.pid));
  }
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const text = samples.map((b) => (b / MB).toFixed(1)).join(', ');
  assert.ok(last <= first * 1.5 + 20 * MB, `RSS per round (MB): ${text}`);
  // Nothing of the short-lived clients is left behind.
  const gone = await collect(watcher, PER_KIND * ROUNDS, (m) => m['ta-id'] === watchTa && m['match-type'] === 'disappeared', 10000);
  assert.is(gone.length, PER_KIND * ROUNDS);
  assert.is((await bystander.list('services', { filter: '(name=r9)' })).length, 0, 'no r9 services left');
  const subs = await bystander.list('subscriptions');
  assert.is(subs.filter((m: Msg) => /^\(index=/.test(String(m['filter']))).length, 0, 'no r9 subscriptions left');
  watcher.close();
});

t.run();
