// Issue 8 §2, connections that never say hello: pafd closes each within
// its handshake deadline (3 s after accept, inside the original's 2–3 s;
// docs/semantics.md §7.6), and a normal client still gets in both while they
// hang around and after they are gone.

import type * as net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import { Peer, RssSampler, alive, figure, load, mib, nowMs, pace, percentile, rawSocket } from './harness';

const CONNECTIONS = load(500, 5000);
/**
 * Connects in flight at once, well within any listen backlog (XCM's is
 * 32, pafd's 1024): past a full one Linux drops the handshake's last ACK, our side believes it is
 * connected while pafd never accepted the connection, and such a socket
 * lingers until the kernel gives up (a minute), which is not pafd's
 * deadline being late.
 */
const CONNECT_WIDTH = 16;
/** docs/semantics.md §7.6: closed 2.9–3.1 s after accept; plus scheduling slack on a loaded machine. */
const DEADLINE_MIN_MS = 2900;
/**
 * Lifetimes start at our 'connect' event, which a busy test process (the
 * suite runs files side by side) sees later than pafd's accept.
 */
const CONNECT_EVENT_SLACK_MS = 250;
const DEADLINE_MAX_MS = 3100 + 500;

test('silent connections are reclaimed by the handshake deadline', async () => {
  const pafd = await startPafd(['-l', 'info', 'tcp:127.0.0.1:0']);
  try {
    const address = pafd.addresses[0]!;
    const sampler = new RssSampler(pafd.pid, 100);
    const baseline = sampler.samples[0]!.bytes;
    const lifetimes: number[] = [];
    const closed: Promise<void>[] = [];
    const t0 = nowMs();
    let next = 0;
    const opener = async () => {
      while (next < CONNECTIONS) {
        next++;
        const s: net.Socket = await rawSocket(address);
        const openedAt = nowMs();
        s.on('error', () => { /* a reset is a close too */ });
        s.resume();
        closed.push(new Promise((resolve) => s.once('close', () => { lifetimes.push(nowMs() - openedAt); resolve(); })));
      }
    };
    await Promise.all(Array.from({ length: CONNECT_WIDTH }, opener));
    const openS = (nowMs() - t0) / 1000;
    // While all of them hold a slot, a real client gets in and is served.
    const during = nowMs();
    const early = await Peer.open(address, 5001n);
    assert.is((await early.request('ping'))['msg-type'], 'complete');
    const helloDuringMs = nowMs() - during;
    const bounded = pace(DEADLINE_MAX_MS + 1000).then(() => {
      throw new Error(`${CONNECTIONS - lifetimes.length} silent connections still open ${DEADLINE_MAX_MS + 1000} ms after the last connect`);
    });
    bounded.catch(() => { /* raced below */ });
    await Promise.race([Promise.all(closed), bounded]);
    const allGoneS = (nowMs() - t0) / 1000;
    const late = await Peer.open(address, 5002n);
    assert.is((await late.request('ping'))['msg-type'], 'complete');
    assert.is((await early.request('ping'))['msg-type'], 'complete', 'the early client outlived the deadline: it said hello');
    sampler.stop();
    assert.ok(alive(pafd.proc));

    const min = Math.min(...lifetimes), max = Math.max(...lifetimes);
    figure('silent connections', `${CONNECTIONS} tcp connections that never send hello`,
      `opened in ${openS.toFixed(1)} s; closed by pafd ${(min / 1000).toFixed(2)}–${(max / 1000).toFixed(2)} s after connect `
      + `(p50 ${(percentile(lifetimes, 50) / 1000).toFixed(2)} s), all gone ${allGoneS.toFixed(1)} s after the first; `
      + `hello+ping meanwhile ${helloDuringMs.toFixed(0)} ms; RSS ${mib(baseline)} → max ${mib(sampler.max)}`);
    assert.is(lifetimes.length, CONNECTIONS);
    assert.ok(min >= DEADLINE_MIN_MS - CONNECT_EVENT_SLACK_MS, `a silent connection closed after only ${min.toFixed(0)} ms`);
    assert.ok(max <= DEADLINE_MAX_MS, `a silent connection lived ${max.toFixed(0)} ms`);
    early.close(); late.close();
  } finally {
    await pafd.stop();
  }
});

test.run();
