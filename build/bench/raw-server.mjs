#!/usr/bin/env node
// The raw reference: a minimal Node server that only does framing and the
// least a reply needs, so that the bench can state pafd's figures as a
// ratio to what plain Node achieves on the same machine in the same run.
// Every request is answered from its ta-cmd and ta-id found by regular
// expression (no JSON parse, no validation, no limits, no budgets).
//
// By default a subscribe is remembered and every publish is fanned out to
// every subscription as one pre-built notify (the fan-out figure), and no
// service is stored (the memory and growth figures).
//
// With --notifications (the storm, build/bench/storm.mjs), it sends the
// same notifications as pafd, with the least state that takes:
//   - a subscription whose filter is `(name=X)` (the storm's) is filed
//     under X, any other filter matches everything;
//   - a publish is stored by service id under its `name` prop: a new id is
//     announced as appeared, a known one as modified, to the subscriptions
//     of that name;
//   - a subscribe gets the stored services of its name as its initial
//     notifications;
//   - a closed connection's subscriptions are dropped and its services are
//     announced as modified (pafd's orphans), as pafd does.
// The notifications carry the publish's own props text, so they are the
// size pafd's are. Matching is a Map lookup: the cheapest Node can do.
//
// With --track-period S, a connection that opened a track transaction is
// sent a track query every S seconds from the first SIGUSR2 on (the
// storm's idle window), spread evenly over time, and its reply is read and
// not answered: the same round trip as pafd's liveness check (a query the
// server starts, a reply it reads), not a ping it answers, whose cost
// differs (whose side sends the bare TCP acknowledgement, for one).
//
// Usage: node raw-server.mjs <port> [--notifications] [--track-period S]
// (prints "listening <port>" when ready)

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

const withNotifications = process.argv.includes('--notifications');
const trackPeriodArg = process.argv.indexOf('--track-period');
const trackPeriodS = trackPeriodArg > 0 ? Number(process.argv[trackPeriodArg + 1]) : 0;

/**
 * Connections with an open track transaction: { send, query, open }, in
 * round-robin order. A closed one is dropped when its turn comes (swapped
 * with the last), so a tick costs only the queries it sends; the rate
 * follows the open ones.
 */
const tracked = [];
let openTracked = 0;
const QUERY_TICK_MS = 50;
function startQueries() {
  let next = 0, credit = 0;
  setInterval(() => {
    credit += (openTracked * QUERY_TICK_MS) / (trackPeriodS * 1000);
    while (credit >= 1 && tracked.length > 0) {
      if (next >= tracked.length) next = 0;
      const t = tracked[next];
      if (!t.open) {
        tracked[next] = tracked[tracked.length - 1];
        tracked.pop();
        continue;
      }
      next++;
      credit--;
      t.send(t.query);
    }
  }, QUERY_TICK_MS);
}
if (trackPeriodS > 0) process.once('SIGUSR2', startQueries);

/** Without --notifications: every subscription, [send, ta-id]. */
const subscriptions = [];

const NAME_FILTER = /"filter":"\(name=([^)"\\]*)\)"/;
const NAME_PROP = /"name":\["([^"\\]*)"/;
const SERVICE_ID = /"service-id":(\d+)/;
const PROPS = /"service-props":(\{.*\}),"ttl"/;

/** Subscriptions by the name their filter asks for; ALL for any other filter. Each is [send, ta-id]. */
const byName = new Map();
const ALL = Symbol('all');
/** Services by id: { name, props, owner (its connection's send) }. */
const services = new Map();
/** Service ids by name, for initial notifications. */
const servicesByName = new Map();

const notifyText = (sta, type, id, props) =>
  `{"ta-cmd":"subscribe","ta-id":${sta},"msg-type":"notify","match-type":"${type}","service-id":${id},"generation":0,"service-props":${props},"ttl":30,"client-id":1}`;

function announce(name, type, id, props) {
  notifyAll(byName.get(name), type, id, props);
  notifyAll(byName.get(ALL), type, id, props);
}

function notifyAll(subs, type, id, props) {
  if (subs) for (const [notify, sta] of subs) notify(notifyText(sta, type, id, props));
}

const server = net.createServer({ noDelay: true }, (socket) => {
  /** This connection's subscriptions ([key, entry]) and service ids, for the close. */
  const mySubscriptions = [];
  const myServices = new Set();
  let myTrack = null;
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
      else if (cmd === 'track' && text.includes('"msg-type":"inform"')) { /* a reply to our query: read, not answered */ }
      else if (cmd === 'track' && trackPeriodS > 0) {
        myTrack = { send, query: `${head}"notify","track-type":"query"}`, open: true };
        tracked.push(myTrack);
        openTracked++;
        send(`${head}"accept"}`);
      }
      else if (!withNotifications && cmd === 'subscribe') { subscriptions.push([send, ta]); send(`${head}"accept"}`); }
      else if (!withNotifications && cmd === 'publish') {
        for (const [notify, sta] of subscriptions) {
          notify(`{"ta-cmd":"subscribe","ta-id":${sta},"msg-type":"notify","match-type":"modified","service-id":1,"generation":1,"service-props":{},"ttl":30,"client-id":1}`);
        }
        send(`${head}"complete"}`);
      } else if (cmd === 'subscribe') {
        const key = NAME_FILTER.exec(text)?.[1] ?? ALL;
        const entry = [send, ta];
        let subs = byName.get(key);
        if (!subs) byName.set(key, subs = new Set());
        subs.add(entry);
        mySubscriptions.push([key, entry]);
        send(`${head}"accept"}`);
        const ids = key === ALL ? services.keys() : servicesByName.get(key) ?? [];
        for (const id of ids) send(notifyText(ta, 'appeared', id, services.get(id).props));
      } else if (cmd === 'publish') {
        const id = SERVICE_ID.exec(text)?.[1];
        const name = NAME_PROP.exec(text)?.[1] ?? '';
        const props = PROPS.exec(text)?.[1] ?? '{}';
        const known = services.get(id);
        if (known) { known.props = props; known.owner = myServices; }
        else {
          services.set(id, { name, props, owner: myServices });
          let ids = servicesByName.get(name);
          if (!ids) servicesByName.set(name, ids = new Set());
          ids.add(id);
        }
        myServices.add(id);
        announce(name, known ? 'modified' : 'appeared', id, props);
        send(`${head}"complete"}`);
      } else send(`${head}"complete"}`);
    }
    pending = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (myTrack) { myTrack.open = false; openTracked--; }
    for (let i = subscriptions.length - 1; i >= 0; i--) if (subscriptions[i][0] === send) subscriptions.splice(i, 1);
    for (const [key, entry] of mySubscriptions) byName.get(key).delete(entry);
    for (const id of myServices) {
      const s = services.get(id);
      if (s.owner === myServices) announce(s.name, 'modified', id, s.props);
    }
  });
});
server.listen({ host: '127.0.0.1', port: Number(process.argv[2] || 0), backlog: 511 }, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
