#!/usr/bin/env node
// The raw reference: a minimal Node server that only does framing and the
// least a reply needs, so that the bench can state pafd's figures as a
// ratio to what plain Node achieves on the same machine in the same run.
// Every request is answered from its ta-cmd and ta-id found by regular
// expression (no JSON parse, no validation, no state), except that
// subscribe requests are remembered so that a publish can be fanned out
// as one pre-built notify per subscription.
//
// Usage: node raw-server.mjs <port>   (prints "listening <port>" when ready)

import * as net from 'node:net';

const TA_ID = /"ta-id":(\d+)/;
const TA_CMD = /"ta-cmd":"([a-z]+)"/;

function frame(text) {
  const len = Buffer.byteLength(text);
  const f = Buffer.allocUnsafe(4 + len);
  f.writeUInt32BE(len, 0);
  f.write(text, 4);
  return f;
}

/** Live subscriptions: [socket, ta-id]. */
const subscriptions = [];

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending = Buffer.alloc(0);
  let corked = false;
  const send = (text) => {
    if (socket.destroyed) return;
    if (!corked) { corked = true; socket.cork(); process.nextTick(() => { corked = false; socket.uncork(); }); }
    socket.write(frame(text));
  };
  socket.on('data', (chunk) => {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const text = buf.toString('utf8', off + 4, off + 4 + len);
      off += 4 + len;
      const cmd = TA_CMD.exec(text)?.[1];
      const ta = TA_ID.exec(text)?.[1];
      const head = `{"ta-cmd":"${cmd}","ta-id":${ta},"msg-type":`;
      if (cmd === 'ping') send(text.replace('"request"', '"complete"')); // the echo
      else if (cmd === 'hello') send(`${head}"complete","protocol-version":2}`);
      else if (cmd === 'subscribe') { subscriptions.push([send, ta]); send(`${head}"accept"}`); }
      else if (cmd === 'publish') {
        for (const [notify, sta] of subscriptions) {
          notify(`{"ta-cmd":"subscribe","ta-id":${sta},"msg-type":"notify","match-type":"modified","service-id":1,"generation":1,"service-props":{},"ttl":30,"client-id":1}`);
        }
        send(`${head}"complete"}`);
      } else send(`${head}"complete"}`);
    }
    pending = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    for (let i = subscriptions.length - 1; i >= 0; i--) if (subscriptions[i][0] === send) subscriptions.splice(i, 1);
  });
});
server.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 511 }, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
