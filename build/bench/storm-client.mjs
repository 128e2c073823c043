#!/usr/bin/env node
// One load-generating worker of build/bench/storm.mjs. It owns a slice of
// the scenario's v3 clients and drives them over the bench's thin wire
// client (build/bench/wire.mjs): connect, hello (v3), track, publish the
// client's services, subscribe the client's subscriptions, and from then on
// answer every track query of the server. On `drop` it closes all of its
// connections at once and sets every client up again with the same ids.
//
// Spawned by storm.mjs with an IPC channel and one JSON argument (see
// Config below). Messages from the parent: {cmd: 'connect' | 'drop' |
// 'stats' | 'exit', round}. Messages to the parent: {event: 'ready', round} once every
// client of the slice is set up (after connect and after each drop),
// {event: 'stats', ...} on request, {event: 'fatal', message} when the
// server refuses something the scenario needs (the run is invalid).
//
// Ownership is by global index so that every worker derives the same
// picture: client c owns the services j ≡ c and the subscriptions s ≡ c
// (mod the number of clients); service j is in group j mod groups and
// subscription s filters on group s mod groups, so each subscription
// matches a few services owned by other clients.

import * as net from 'node:net';
import { BenchConnection, subscribeText } from './wire.mjs';

/**
 * @typedef {object} Config
 * @property {string} host        pafd's address
 * @property {number} port
 * @property {boolean} raw        the raw reference server (build/bench/raw-server.mjs)
 * @property {number} first       first global client index of this worker
 * @property {number} count       clients of this worker
 * @property {number} clients     clients of the whole scenario
 * @property {number} services
 * @property {number} subscriptions
 * @property {number} groups      distinct `name` values (subscription filters match one)
 * @property {number} ttl
 * @property {number} window      connects whose hello has not completed, at most
 */
/** @type {Config} */
const cfg = JSON.parse(process.argv[2]);

/** Id bases: small numbers keep the JSON short, distinct bases keep the kinds apart in traces. */
const CLIENT_ID_BASE = 0x1000_0000;
const SERVICE_ID_BASE = 0x2000_0000;
const SUBSCRIPTION_ID_BASE = 0x3000_0000;
/** ta-ids of each connection's fixed transactions; requests after them count up from FIRST_TA. */
const HELLO_TA = 1;
const TRACK_TA = 2;
const FIRST_TA = 3;
/**
 * A reconnecting client whose hello meets its own previous connection
 * (pafd has not yet seen that close) retries after this pause; pafd
 * closes a connection without a successful hello after 3 s, after
 * which the client connects again.
 */
const HELLO_RETRY_MS = 50;
/** Pause before connecting again after a failed connect or a lost connection. */
const RECONNECT_MS = 100;

const helloText = (clientId) =>
  `{"ta-cmd":"hello","ta-id":${HELLO_TA},"msg-type":"request","client-id":${clientId},"protocol-minimum-version":3,"protocol-maximum-version":3}`;
const trackText = `{"ta-cmd":"track","ta-id":${TRACK_TA},"msg-type":"request"}`;
const trackReplyText = `{"ta-cmd":"track","ta-id":${TRACK_TA},"msg-type":"inform","track-type":"reply"}`;
const TRACK_QUERY = '"track-type":"query"';

/** Three small props, the same shape as the rest of the bench (wire.mjs publishText). */
function publishText(ta, j) {
  return `{"ta-cmd":"publish","ta-id":${ta},"msg-type":"request","service-id":${SERVICE_ID_BASE + j},"generation":0,`
    + `"service-props":{"name":["svc-${j % cfg.groups}"],"addr":["tcp:10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}:4711"],"color":["green"]},"ttl":${cfg.ttl}}`;
}

/** The same subscribe for pafd and the raw reference (which sends the same notifications, raw-server.mjs --notifications). */
function subscribeFor(ta, s) {
  return subscribeText(ta, SUBSCRIPTION_ID_BASE + s, `(name=svc-${s % cfg.groups})`);
}

const stats = {
  ready: 0, trackAnswers: 0, notifies: 0,
  helloRetries: 0, connectErrors: 0, lostConnections: 0, errorCodes: {},
  /** Connects that took a second or more: the kernel dropped a SYN (full accept queue) and retransmitted. */
  slowConnects: 0, maxConnectMs: 0, maxHelloMs: 0,
};
/** The first SYN retransmission comes after 1 s: a connect this slow lost at least one SYN. */
const SYN_RETRANSMIT_MS = 1000;
/**
 * Clients share a loopback source address in groups this size, as if they
 * ran on a few hundred hosts. From one address, the storm leaves every old
 * connection in TIME_WAIT while the new ones bind a port: with thousands
 * per address the kernel's search for a free port dominates the run
 * (a 5,000-client worker spent 9 s of system time per storm in it).
 */
const CLIENTS_PER_SOURCE_ADDRESS = 256;

/** One scenario client: its global index and its current connection. */
class Client {
  constructor(index) {
    this.index = index;
    this.id = CLIENT_ID_BASE + index;
    /** pafd's user id follows the address (ip:…), so a client keeps it across reconnects. */
    const host = Math.floor(index / CLIENTS_PER_SOURCE_ADDRESS);
    this.localAddress = `127.${1 + (host >> 8)}.${host & 255}.1`;
    /** @type {BenchConnection | null} */
    this.conn = null;
    this.ready = false;
    /** Holds a slot of the connect window until its hello completed. */
    this.inWindow = false;
    /** Bumped by a drop: callbacks of an earlier round find a different epoch and do nothing. */
    this.epoch = 0;
  }
}

const clients = [];
for (let i = 0; i < cfg.count; i++) clients.push(new Client(cfg.first + i));

// ------------------------------------------------------------ the connect window
// A connect beyond a full accept queue loses its SYN and waits a second
// for the retransmission. So at most `window` connections per worker are
// between connect and hello completion (the workers' windows together
// stay within XCM's backlog of 32; pafd's is 1024).

/** Clients waiting for a slot, in order; `head` is the next one (no shift() over thousands). */
let waiting = [];
let head = 0;
let inWindow = 0;

function enqueue(client) { waiting.push(client); pump(); }

function pump() {
  while (inWindow < cfg.window && head < waiting.length) {
    const client = waiting[head++];
    if (head === waiting.length) { waiting = []; head = 0; }
    client.inWindow = true;
    inWindow++;
    connect(client);
  }
}

function leaveWindow(client) {
  if (!client.inWindow) return;
  client.inWindow = false;
  inWindow--;
  pump();
}

function retryLater(client, ms) {
  leaveWindow(client);
  const epoch = client.epoch;
  setTimeout(() => { if (client.epoch === epoch) enqueue(client); }, ms);
}

// ------------------------------------------------------------ one client's set-up

function connect(client) {
  const epoch = client.epoch;
  const started = performance.now();
  const socket = net.connect({ host: cfg.host, port: cfg.port, localAddress: client.localAddress, noDelay: true });
  const onError = (err) => {
    stats.connectErrors++;
    stats.errorCodes[err.code ?? err.message] = (stats.errorCodes[err.code ?? err.message] ?? 0) + 1;
    socket.destroy();
    if (client.epoch === epoch) retryLater(client, RECONNECT_MS);
  };
  socket.once('error', onError);
  socket.once('connect', () => {
    socket.off('error', onError);
    if (client.epoch !== epoch) { socket.destroy(); return; }
    const connectMs = performance.now() - started;
    if (connectMs >= SYN_RETRANSMIT_MS) stats.slowConnects++;
    if (connectMs > stats.maxConnectMs) stats.maxConnectMs = connectMs;
    const conn = new BenchConnection(socket);
    conn.nextTa = FIRST_TA;
    client.conn = conn;
    conn.onNotify = (text) => {
      if (text.includes(TRACK_QUERY)) { conn.write(trackReplyText); stats.trackAnswers++; } else stats.notifies++;
    };
    socket.on('close', () => lost(client, conn));
    hello(client, conn);
  });
}

function hello(client, conn) {
  const started = performance.now();
  conn.waiting.set(HELLO_TA, (type, text) => {
    const helloMs = performance.now() - started;
    if (helloMs > stats.maxHelloMs) stats.maxHelloMs = helloMs;
    if (type !== 'fail') { leaveWindow(client); setUp(client, conn); return; }
    if (text.includes('client-id-exists')) {
      // Our previous connection is still known to pafd: its close is on the way.
      stats.helloRetries++;
      setTimeout(() => { if (client.conn === conn && !conn.closed) hello(client, conn); }, HELLO_RETRY_MS);
      return;
    }
    fatal(`hello of client ${client.index} failed: ${text}`);
  });
  conn.write(helloText(client.id));
}

/** Track, then every publish and subscribe of the client in one write; ready when all are acknowledged. */
function setUp(client, conn) {
  let outstanding = 0;
  const ack = (what) => (type, text) => {
    if (type === 'fail') { fatal(`${what} of client ${client.index} failed: ${text}`); return; }
    if (--outstanding === 0 && client.conn === conn) {
      client.ready = true;
      if (++stats.ready === clients.length) process.send({ event: 'ready', round });
    }
  };
  outstanding++;
  conn.waiting.set(TRACK_TA, ack('track'));
  conn.write(trackText);
  for (let j = client.index; j < cfg.services; j += cfg.clients) {
    outstanding++;
    conn.request((ta) => publishText(ta, j), ack('publish'));
  }
  for (let s = client.index; s < cfg.subscriptions; s += cfg.clients) {
    outstanding++;
    conn.request((ta) => subscribeFor(ta, s), ack('subscribe'));
  }
}

/** A connection closed under the client (a drop replaces client.conn first): set it up again. */
function lost(client, conn) {
  if (client.conn !== conn) return;
  client.conn = null;
  if (client.ready) { client.ready = false; stats.ready--; }
  stats.lostConnections++;
  retryLater(client, RECONNECT_MS);
}

function fatal(message) {
  process.send({ event: 'fatal', message });
}

// ------------------------------------------------------------ commands from storm.mjs

/** Which connect or drop command the next `ready` answers. */
let round = 0;

function connectAll() {
  for (const c of clients) enqueue(c);
}

/** Every connection closed at once; then everybody comes back. */
function dropAll() {
  waiting = [];
  head = 0;
  for (const c of clients) {
    const conn = c.conn;
    if (conn) conn.socket.destroy();
    c.epoch++;
    c.conn = null;
    c.ready = false;
    c.inWindow = false;
  }
  stats.ready = 0;
  inWindow = 0;
  connectAll();
}

process.on('message', (msg) => {
  switch (msg.cmd) {
    case 'connect': round = msg.round; connectAll(); break;
    case 'drop': round = msg.round; dropAll(); break;
    case 'stats': process.send({ event: 'stats', ...stats }); break;
    case 'exit': for (const c of clients) c.conn?.socket.destroy(); process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
