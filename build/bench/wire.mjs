// A deliberately thin Pathfinder client for the benchmark: XCM tcp framing,
// messages written as template strings, replies matched by ta-id with a
// regular expression instead of a full JSON parse. The same client drives
// pafd and the raw reference server, so its own cost is in both figures.

import * as net from 'node:net';

const TA_ID = /"ta-id":(\d+)/;
const MSG_TYPE = /"msg-type":"([a-z]+)"/;

export class BenchConnection {
  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.nextTa = 1;
    /** ta-id → callback(msgType, text) for the first reply of a request. */
    this.waiting = new Map();
    /** Called with the text of every notify. */
    this.onNotify = () => {};
    this.closed = false;
    this.corked = false;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let off = 0;
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (buf.length - off - 4 < len) break;
        this.frame(buf.latin1Slice(off + 4, off + 4 + len));
        off += 4 + len;
      }
      pending = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => {});
  }

  static open(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => { socket.off('error', reject); resolve(new BenchConnection(socket)); });
    });
  }

  frame(text) {
    const type = MSG_TYPE.exec(text)?.[1];
    if (type === 'notify') { this.onNotify(text); return; }
    const ta = Number(TA_ID.exec(text)?.[1]);
    const cb = this.waiting.get(ta);
    if (cb) { this.waiting.delete(ta); cb(type, text); }
  }

  /** Queues one framed message; everything sent in one event-loop turn leaves in one write. */
  write(text) {
    const len = Buffer.byteLength(text);
    const frame = Buffer.allocUnsafe(4 + len);
    frame.writeUInt32BE(len, 0);
    frame.write(text, 4);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => { this.corked = false; this.socket.uncork(); });
    }
    this.socket.write(frame);
  }

  /** Sends a request built by make(taId); cb(msgType, text) on its first reply. */
  request(make, cb) {
    const ta = this.nextTa++;
    this.waiting.set(ta, cb);
    this.write(make(ta));
  }

  call(make) {
    return new Promise((resolve, reject) => this.request(make, (type, text) => {
      if (type === 'fail') reject(new Error(`request failed: ${text}`)); else resolve(text);
    }));
  }

  /** Protocol version 2: no liveness tracking needed, the bench may sit idle. */
  hello(clientId) {
    return this.call((ta) => `{"ta-cmd":"hello","ta-id":${ta},"msg-type":"request","client-id":${clientId},"protocol-minimum-version":2,"protocol-maximum-version":2}`);
  }

  close() { this.socket.destroy(); }
}

export function publishText(ta, id, generation, name) {
  return `{"ta-cmd":"publish","ta-id":${ta},"msg-type":"request","service-id":${id},"generation":${generation},`
    + `"service-props":{"name":["${name}"],"addr":["tls:10.10.10.10:4711"],"color":["green"]},"ttl":30}`;
}

export function unpublishText(ta, id) {
  return `{"ta-cmd":"unpublish","ta-id":${ta},"msg-type":"request","service-id":${id}}`;
}

export function pingText(ta) {
  return `{"ta-cmd":"ping","ta-id":${ta},"msg-type":"request"}`;
}

export function subscribeText(ta, id, filter) {
  return `{"ta-cmd":"subscribe","ta-id":${ta},"msg-type":"request","subscription-id":${id},"filter":"${filter}"}`;
}

/**
 * Runs `count` requests over `conn` keeping `window` outstanding;
 * resolves with the elapsed milliseconds. make(i, ta) builds request i.
 */
export function pipelined(conn, count, window, make) {
  return new Promise((resolve, reject) => {
    if (count === 0) { resolve(0); return; }
    const start = performance.now();
    let sent = 0, done = 0;
    const onReply = (type, text) => {
      if (type === 'fail') { reject(new Error(`request failed: ${text}`)); return; }
      if (++done === count) resolve(performance.now() - start);
      else if (sent < count) send();
    };
    const send = () => { const i = sent++; conn.request((ta) => make(i, ta), onReply); };
    for (let k = 0; k < Math.min(window, count); k++) send();
  });
}

/** Sends `batch` requests at once and waits for all replies, `rounds` times; ms per request. */
export async function batched(conn, rounds, batch, make) {
  const start = performance.now();
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    const pending = [];
    for (let k = 0; k < batch; k++) { const n = i++; pending.push(conn.call((ta) => make(n, ta))); }
    await Promise.all(pending);
  }
  return (performance.now() - start) / (rounds * batch);
}
