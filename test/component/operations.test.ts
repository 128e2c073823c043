// Operating pafd (issue 5), against the real bundle: the syslog fallback
// (this server's S4), syslog datagrams, log file rotation and reopening,
// reload on SIGHUP (CRLs, limits, protocol versions, broken files, socket
// changes), systemd notifications and watchdog, the Prometheus endpoint,
// --check-config, and a prompt graceful stop.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNative } from '../../src/transport/native';
import type { NativeHandle } from '../../src/transport/native';
import { makeTestPki } from '../helpers/certs';
import type { Credential, TestPki } from '../helpers/certs';
import { startPafd, tempDir } from '../helpers/pafd';
import { assertPings, isQuery, openTracked, replyToQuery, runPafdBounded } from '../helpers/robust';
import { WireClient, randomId } from '../helpers/wire';
import type { Msg } from '../helpers/wire';

const ANY_TCP = 'tcp:127.0.0.1:0';
const addon = loadNative();
if (addon === null) throw new Error('these tests need the native addon (node build/addon.mjs)');

const t = suite('operations');

// ------------------------------------------------------------------ helpers

/** A UNIX datagram socket collecting what pafd sends (syslog, NOTIFY_SOCKET). */
class DatagramSink {
  readonly received: string[] = [];
  private readonly handle: NativeHandle;
  private waiters: { re: RegExp; resolve: (m: string) => void; from: number }[] = [];

  constructor(readonly name: string, readonly abstract: boolean) {
    this.handle = addon!.bindDatagram(name, abstract);
    addon!.setCallback(this.handle, (event, value) => {
      if (event !== addon!.events.MESSAGE) return;
      const text = (value as Buffer).toString('utf8');
      this.received.push(text);
      this.waiters = this.waiters.filter((w) => {
        if (!w.re.test(text)) return true;
        w.resolve(text);
        return false;
      });
    });
    addon!.setReading(this.handle, true);
  }

  /** The first datagram matching re, received at or after index `from`. */
  next(re: RegExp, from = 0, timeoutMs = 5000): Promise<string> {
    const found = this.received.slice(from).find((m) => re.test(m));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no datagram matching ${re} within ${timeoutMs} ms; got:\n${this.received.join('\n---\n')}`)), timeoutMs);
      this.waiters.push({ re, from, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  close(): void { addon!.close(this.handle); }
}

function uniqueAbstract(what: string): string {
  return `paf-ops-${what}-${process.pid}-${randomId().toString(16)}`;
}

/** GET a URL: with curl (the operator's tool) when installed, else node:http. */
function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', url], (err, stdout) => {
      if (err === null) {
        const cut = stdout.lastIndexOf('\n');
        resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
        return;
      }
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') { reject(err); return; }
      http.get(url, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  });
}

/** Samples of a Prometheus text exposition, keyed by `name{labels}` as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

function sample(m: Map<string, number>, key: string): number {
  const v = m.get(key);
  if (v === undefined) throw new Error(`no sample ${key}; have:\n${[...m.keys()].join('\n')}`);
  return v;
}

/** A connected and handshaked client whose message payload bytes are counted both ways. */
async function countedClient(address: string, count: { in: number; out: number; msgsIn: number; msgsOut: number }): Promise<WireClient> {
  const c = await WireClient.connect(address);
  const conn = c.conn;
  const deliver = conn.onMessage;
  conn.onMessage = (payload) => { count.in += payload.length; count.msgsIn++; deliver(payload); };
  const send = conn.send.bind(conn);
  conn.send = (m) => { count.out += Buffer.byteLength(m); count.msgsOut++; send(m); };
  assert.is((await c.hello())['msg-type'], 'complete');
  return c;
}

/** Whether a TLS client with these credentials is refused (handshake or hello never completes). */
async function tlsRefused(address: string, pki: TestPki, who: Credential): Promise<boolean> {
  let c: WireClient;
  try {
    c = await WireClient.connect(address, { tls: { cert: who.cert, key: who.key, tc: pki.rootCa } });
  } catch {
    return true;
  }
  try {
    return (await c.hello())['msg-type'] !== 'complete';
  } catch {
    return true;
  } finally {
    c.close();
  }
}

async function publishOk(c: WireClient, what: string): Promise<void> {
  const r = await c.publish(randomId(), 0, { name: [what] }, 30);
  assert.is(r['msg-type'], 'complete', `${what}: ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
}

async function publishRefused(c: WireClient, what: string): Promise<void> {
  const r = await c.publish(randomId(), 0, { name: [what] }, 30);
  assert.is(r['fail-reason'], 'insufficient-resources', what);
}

const isNotify = (m: Msg) => m['msg-type'] === 'notify';

// ------------------------------------------------------------------ logging

t('S4 (this server): syslog on by default without a syslog socket warns once and logs to the console; pafd serves', async () => {
  const missing = join(tempDir(), 'no-log-socket');
  const pafd = await startPafd(['-u', missing, ANY_TCP], { bare: true });
  try {
    const warnings = pafd.log.filter((l) => l.includes('syslog'));
    assert.equal(warnings, [`WARNING:pafd:syslog socket ${missing} cannot be used (no such file); logging to the console instead`]);
    const c = await WireClient.open(pafd.addresses[0]!);
    await assertPings(c);
    c.close();
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t('syslog: datagrams to the -u socket carry <PRI> from the -y facility and the level, and pafd[pid]', async () => {
  const path = join(tempDir(), 'log');
  const syslog = new DatagramSink(path, false);
  const pafd = await startPafd(['-s', '-u', path, '-y', 'local3', '-l', 'debug', ANY_TCP], { bare: true });
  try {
    const LOCAL3 = 19;
    const ident = `pafd[${pafd.pid}]: `;
    assert.is(await syslog.next(/started/), `<${LOCAL3 * 8 + 6}>${ident}${pafd.log.find((l) => l.includes('started'))!.replace(/^INFO:pafd:/, '')}`);
    const c = await WireClient.open(pafd.addresses[0]!);
    assert.match(await syslog.next(/accepted connection/), new RegExp(`^<${LOCAL3 * 8 + 7}>pafd\\[${pafd.pid}\\]: accepted connection from tcp:127\\.0\\.0\\.1:\\d+ \\(user ip:127\\.0\\.0\\.1\\)$`));
    // A client with a protocol error: the close is logged once, at warning, with the reason.
    c.sendFrame('{"ta-cmd":"ping"}');
    const closed = await syslog.next(/disconnected/);
    assert.match(closed, new RegExp(`^<${LOCAL3 * 8 + 4}>pafd\\[${pafd.pid}\\]: client 0x${c.clientId.toString(16)} \\(tcp:127\\.0\\.0\\.1:\\d+, user ip:127\\.0\\.0\\.1\\) disconnected: protocol error: `));
    assert.is(syslog.received.filter((m) => m.includes(`0x${c.clientId.toString(16)}`) && m.includes('protocol error')).length, 1, 'one line for the event');
    assert.ok(syslog.received.every((m) => m.startsWith('<') && m.includes(ident)));
  } finally {
    assert.is(await pafd.stop(), 0);
    syslog.close();
  }
});

t('log file: rotated at the -x size, -b backups kept (driven by debug logging of many connections)', async () => {
  const dir = tempDir();
  const file = join(dir, 'pafd.log');
  const MAX = 2000, BACKUPS = 3;
  const pafd = await startPafd(['-o', file, '-b', String(BACKUPS), '-x', String(MAX), ANY_TCP]);
  try {
    const CLIENTS = 60;
    for (let i = 0; i < CLIENTS; i++) {
      const c = await WireClient.open(pafd.addresses[0]!);
      c.close();
      await c.closed;
    }
    // The file line is written (synchronously) before the console line we wait for.
    const last = randomId();
    const marker = await WireClient.open(pafd.addresses[0]!, { clientId: last });
    await pafd.waitForLog(new RegExp(`0x${last.toString(16)}.* connected`));
    marker.close();
    const names = readdirSync(dir).sort();
    assert.equal(names, ['pafd.log', 'pafd.log.1', 'pafd.log.2', 'pafd.log.3'], 'the file and exactly 3 backups');
    const lines = (name: string) => readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l !== '');
    const longest = Math.max(...names.flatMap((n) => lines(n).map((l) => Buffer.byteLength(l) + 1)));
    for (const n of names.slice(1)) {
      const size = statSync(join(dir, n)).size;
      assert.ok(size <= MAX && size > MAX - longest, `${n} is full: ${size} bytes (max ${MAX}, longest line ${longest})`);
    }
    assert.ok(statSync(file).size <= MAX);
    assert.ok(lines('pafd.log').some((l) => l.includes(`0x${last.toString(16)}`)), 'the newest lines are in the file itself');
    for (const l of lines('pafd.log.1')) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) /);
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t('SIGHUP without -f reopens the log file (after logrotate moved it) and keeps serving', async () => {
  const dir = tempDir();
  const file = join(dir, 'pafd.log');
  const pafd = await startPafd(['-o', file, ANY_TCP]);
  try {
    const c = await WireClient.open(pafd.addresses[0]!);
    renameSync(file, `${file}.old`);
    pafd.proc.kill('SIGHUP');
    await pafd.waitForLog(/SIGHUP received; no configuration file .* log file reopened/);
    const reopened = readFileSync(file, 'utf8');
    assert.match(reopened, /INFO SIGHUP received; no configuration file/, reopened);
    assert.match(readFileSync(`${file}.old`, 'utf8'), /started/);
    await assertPings(c, 'the client stays');
    c.close();
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

// ------------------------------------------------------------------ reload

t('SIGHUP with a new CRL: the revoked client is refused on its next connect; connected clients stay', async () => {
  const pki = makeTestPki();
  const configFile = join(tempDir(), 'pafd.yaml');
  const config = (crl: string) => `domains:
  - name: secure
    sockets:
      - addr: tls:127.0.0.1:0
        tls: {cert: ${pki.server.cert}, key: ${pki.server.key}, tc: ${pki.rootCa}${crl}}
`;
  writeFileSync(configFile, config(''));
  const pafd = await startPafd(['-f', configFile]);
  try {
    const address = pafd.addresses[0]!;
    const tls = (who: Credential) => ({ tls: { cert: who.cert, key: who.key, tc: pki.rootCa } });
    const mallory = await WireClient.open(address, tls(pki.mallory));
    const alice = await WireClient.open(address, tls(pki.alice));
    writeFileSync(configFile, config(`, crl: ${pki.crlAll}`));
    pafd.proc.kill('SIGHUP');
    await pafd.waitForLog(/configuration .* reloaded: .*TLS files of domain secure socket tls:127\.0\.0\.1:0/);
    assert.ok(await tlsRefused(address, pki, pki.mallory), 'revoked: refused on the next connect');
    await pafd.waitForLog(/WARNING:pafd:\[secure\] TLS handshake with tls:127\.0\.0\.1:\d+ failed: peer certificate rejected: CERT_REVOKED/);
    assert.not.ok(await tlsRefused(address, pki, pki.alice), 'not revoked: accepted');
    await assertPings(mallory, 'the revoked client connected before the reload stays');
    await assertPings(alice, 'the other connected client stays');
    // A CRL file that cannot be read: the running credentials stay (CRL checking included).
    writeFileSync(configFile, config(`, crl: ${pki.crlAll}.missing`));
    pafd.proc.kill('SIGHUP');
    await pafd.waitForLog(/ERROR:pafd:SIGHUP received; keeping the running configuration: domain secure, socket tls:127\.0\.0\.1:0: cannot read TLS CRL file .*\.missing: ENOENT$/);
    assert.ok(await tlsRefused(address, pki, pki.mallory), 'still refused with the old CRL');
    assert.not.ok(await tlsRefused(address, pki, pki.alice));
    mallory.close();
    alice.close();
  } finally {
    assert.is(await pafd.stop(), 0);
    pki.remove();
  }
});

t('SIGHUP: a broken file keeps the old configuration (one error line); limits and protocol versions apply live; socket changes are reported, not applied', async () => {
  const configFile = join(tempDir(), 'pafd.yaml');
  const config = (o: { services: number; min?: number; sockets?: string }) => `domains:
  - name: east
    protocol_version: {min: ${o.min ?? 2}}
    sockets: [${o.sockets ?? ANY_TCP}]
resources:
  user: {services: ${o.services}}
`;
  writeFileSync(configFile, config({ services: 1 }));
  const pafd = await startPafd(['-f', configFile]);
  try {
    const address = pafd.addresses[0]!;
    const c = await WireClient.open(address);
    await publishOk(c, 'first');
    await publishRefused(c, 'the user limit is 1');

    // Broken: a YAML error, then a valid file naming a TLS file that does not exist.
    writeFileSync(configFile, 'domains: [\n');
    pafd.proc.kill('SIGHUP');
    const yamlError = await pafd.waitForLog(/SIGHUP received; keeping the running configuration/);
    assert.match(yamlError, /^ERROR:pafd:SIGHUP received; keeping the running configuration: error reading configuration .*pafd\.yaml: line \d+, column \d+: YAML syntax error/);
    await publishRefused(c, 'still limited after the broken reload');
    writeFileSync(configFile, `${config({ services: 5 })}log: {log_file: ${join(tempDir(), 'missing', 'x.log')}}\n`);
    pafd.proc.kill('SIGHUP');
    await pafd.waitForLog(/keeping the running configuration: cannot open log file .*x\.log: ENOENT/);
    await publishRefused(c, 'nothing of a half-good file is applied');
    assert.is(pafd.log.filter((l) => l.includes('keeping the running configuration')).length, 2, 'one line per failed reload');

    // Valid: the limit rises and v2 is no longer offered.
    writeFileSync(configFile, config({ services: 3, min: 3 }));
    pafd.proc.kill('SIGHUP');
    const reloaded = await pafd.waitForLog(/configuration .* reloaded:/);
    assert.match(reloaded, /protocol versions of domain east 2-3 -> 3-3/);
    assert.match(reloaded, /resource limits/);
    await publishOk(c, 'second');
    await publishOk(c, 'third');
    await publishRefused(c, 'the new limit is 3');
    await assertPings(c, 'the v2/v3 client negotiated before the reload stays');
    const v2 = await WireClient.connect(address);
    assert.is((await v2.hello(2, 2))['fail-reason'], 'unsupported-protocol-version', 'v2 refused after the reload');
    v2.close();

    // Sockets cannot change live: reported, the domain keeps its old socket and settings; resources still apply.
    writeFileSync(configFile, config({ services: 4, min: 2, sockets: `${ANY_TCP}, tcp:127.0.0.1:0` }));
    pafd.proc.kill('SIGHUP');
    const notApplied = await pafd.waitForLog(/changes not applied/);
    assert.match(notApplied, /^WARNING:pafd:configuration .*: changes not applied \(they need a restart\): sockets of domain east \[tcp:127\.0\.0\.1:0\] -> \[tcp:127\.0\.0\.1:0, tcp:127\.0\.0\.1:0\]$/);
    await publishOk(c, 'fourth (resources apply to every domain)');
    const v2again = await WireClient.connect(address);
    assert.is((await v2again.hello(2, 2))['fail-reason'], 'unsupported-protocol-version', 'the domain kept its settings');
    v2again.close();
    assert.is(pafd.addresses.length, 1, 'no socket was bound');
    c.close();
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

// ------------------------------------------------------------------ systemd

t('systemd: READY=1 with STATUS once bound, WATCHDOG=1 pings, RELOADING=1/READY=1 around a reload, STOPPING=1 (abstract NOTIFY_SOCKET)', async () => {
  const name = uniqueAbstract('notify');
  const notify = new DatagramSink(name, true);
  const configFile = join(tempDir(), 'pafd.yaml');
  writeFileSync(configFile, `domains:\n  - sockets: [${ANY_TCP}]\n`);
  const pafd = await startPafd(['-f', configFile], { env: { NOTIFY_SOCKET: `@${name}`, WATCHDOG_USEC: '200000' } });
  try {
    const ready = await notify.next(/^READY=1/);
    assert.is(ready, `READY=1\nSTATUS=serving 1 domain(s) on ${pafd.addresses[0]}`);
    const readyAt = notify.received.indexOf(ready);
    await notify.next(/^WATCHDOG=1$/, readyAt + 1);
    const pingsBefore = notify.received.filter((m) => m === 'WATCHDOG=1').length;
    await notify.next(/^WATCHDOG=1$/, notify.received.length);
    assert.ok(notify.received.filter((m) => m === 'WATCHDOG=1').length > pingsBefore, 'pings repeat');

    const from = notify.received.length;
    pafd.proc.kill('SIGHUP');
    const reloading = await notify.next(/^RELOADING=1/, from);
    assert.match(reloading, /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading the configuration$/);
    const back = await notify.next(/^READY=1/, notify.received.indexOf(reloading) + 1);
    assert.match(back, /^READY=1\nSTATUS=serving 1 domain\(s\) on .*; configuration reloaded$/);

    assert.is(await pafd.stop('SIGTERM'), 0);
    assert.is(await notify.next(/^STOPPING=1/, from), 'STOPPING=1\nSTATUS=shutting down');
  } finally {
    await pafd.stop();
    notify.close();
  }
});

t('systemd: a path NOTIFY_SOCKET gets READY=1; WATCHDOG_PID of another process means no pings', async () => {
  const path = join(tempDir(), 'notify');
  const notify = new DatagramSink(path, false);
  const pafd = await startPafd([ANY_TCP], { env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '20000', WATCHDOG_PID: '1' } });
  try {
    await notify.next(/^READY=1\nSTATUS=serving 1 domain/);
    // With pings due every 10 ms, a full round trip of client work leaves room for several.
    const c = await WireClient.open(pafd.addresses[0]!);
    for (let i = 0; i < 20; i++) await assertPings(c);
    c.close();
    assert.is(await pafd.stop('SIGTERM'), 0);
    await notify.next(/^STOPPING=1/);
    assert.not.ok(notify.received.includes('WATCHDOG=1'), notify.received.join(' | '));
  } finally {
    await pafd.stop();
    notify.close();
  }
});

// ------------------------------------------------------------------ metrics

t('metrics: GET /metrics returns counters matching what the clients did', async () => {
  const configFile = join(tempDir(), 'pafd.yaml');
  writeFileSync(configFile, `domains:
  - name: m
    sockets: [${ANY_TCP}]
resources:
  user: {services: 10, memory: 2M}
metrics: {address: 127.0.0.1:0}
`);
  const pafd = await startPafd(['-f', configFile]);
  try {
    const line = await pafd.waitForLog(/metrics at http:/);
    const url = /(http:\/\/\S+)/.exec(line)![1]!;
    const before = await httpGet(url);
    assert.is(before.status, 200);
    const zero = samples(before.body);
    assert.is(sample(zero, 'pafd_connections{domain="m"}'), 0);
    assert.is(sample(zero, 'pafd_messages_received_total{domain="m"}'), 0);

    const address = pafd.addresses[0]!;
    const count = { in: 0, out: 0, msgsIn: 0, msgsOut: 0 };
    const publisher = await countedClient(address, count);
    for (let i = 0; i < 3; i++) await publishOk(publisher, `svc${i}`);
    const subscriber = await countedClient(address, count);
    await subscriber.subscribe(randomId());
    for (let i = 0; i < 3; i++) await subscriber.next(isNotify);

    const m = samples((await httpGet(url)).body);
    const d = '{domain="m"}';
    assert.is(sample(m, `pafd_connections${d}`), 2);
    assert.is(sample(m, `pafd_clients${d}`), 2);
    assert.is(sample(m, `pafd_services${d}`), 3);
    assert.is(sample(m, `pafd_orphans${d}`), 0);
    assert.is(sample(m, `pafd_subscriptions${d}`), 1);
    assert.is(sample(m, `pafd_messages_received_total${d}`), count.msgsOut);
    assert.is(sample(m, `pafd_messages_sent_total${d}`), count.msgsIn);
    assert.is(count.msgsOut, 6, '2 hellos, 3 publishes, 1 subscribe');
    assert.is(sample(m, `pafd_received_bytes_total${d}`), count.out);
    assert.is(sample(m, `pafd_sent_bytes_total${d}`), count.in);
    assert.is(sample(m, 'pafd_user_resource_used{domain="m",user="ip:127.0.0.1",resource="services"}'), 3);
    assert.is(sample(m, 'pafd_user_resource_used{domain="m",user="ip:127.0.0.1",resource="clients"}'), 2);
    assert.is(sample(m, 'pafd_resource_limit{domain="m",scope="user",resource="services"}'), 10);
    assert.not.ok(m.has('pafd_resource_limit{domain="m",scope="total",resource="services"}'), 'no sample for an unlimited resource');
    // The memory budget: configured per user, derived from the heap for the domain; charged bytes by kind.
    assert.is(sample(m, 'pafd_resource_limit{domain="m",scope="user",resource="memory"}'), 2 << 20);
    assert.ok(sample(m, 'pafd_resource_limit{domain="m",scope="total",resource="memory"}') > 0);
    const charged = sample(m, 'pafd_memory_charged_bytes{domain="m",kind="services"}') + sample(m, 'pafd_memory_charged_bytes{domain="m",kind="subscriptions"}');
    assert.ok(sample(m, 'pafd_memory_charged_bytes{domain="m",kind="services"}') > 3 * 512, 'three services charged');
    assert.is(sample(m, 'pafd_resource_used{domain="m",resource="memory"}'), charged + sample(m, 'pafd_memory_charged_bytes{domain="m",kind="buffers"}'));
    assert.is(sample(m, 'pafd_user_resource_used{domain="m",user="ip:127.0.0.1",resource="memory"}'), sample(m, 'pafd_resource_used{domain="m",resource="memory"}'));
    assert.ok(sample(m, 'pafd_event_loop_lag_seconds_count') >= 0);
    assert.ok(sample(m, 'pafd_event_loop_lag_seconds_bucket{le="+Inf"}') === sample(m, 'pafd_event_loop_lag_seconds_count'));
    assert.ok(sample(m, 'process_resident_memory_bytes') > 0);

    // The publisher leaves: its services become orphans; the close is counted by reason.
    publisher.close();
    for (let i = 0; i < 3; i++) await subscriber.next(isNotify);
    const after = samples((await httpGet(url)).body);
    assert.is(sample(after, `pafd_clients${d}`), 1);
    assert.is(sample(after, `pafd_orphans${d}`), 3);
    assert.is(sample(after, 'pafd_connections_closed_total{domain="m",reason="peer-closed"}'), 1);

    // A track query answered: one round trip in the histogram.
    const { c: tracked, ta } = await openTracked(address);
    const dup = await WireClient.connect(address);
    dup.clientId = tracked.clientId;
    assert.is((await dup.hello(2, 3))['fail-reason'], 'client-id-exists');
    await tracked.next(isQuery(ta));
    replyToQuery(tracked, ta);
    await assertPings(tracked);
    const rtt = samples((await httpGet(url)).body);
    assert.is(sample(rtt, `pafd_track_rtt_seconds_count${d}`), 1);
    assert.is(sample(rtt, 'pafd_track_rtt_seconds_bucket{domain="m",le="+Inf"}'), 1);
    assert.ok(sample(rtt, `pafd_track_rtt_seconds_sum${d}`) > 0);

    assert.is((await httpGet(url.replace('/metrics', '/other'))).status, 404);
    for (const c of [subscriber, tracked, dup]) c.close();
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

t('metrics are off by default: no port, and the started line says nothing of them', async () => {
  const pafd = await startPafd([ANY_TCP]);
  try {
    assert.not.ok(pafd.log.some((l) => l.includes('metrics')), pafd.log.join('\n'));
  } finally {
    assert.is(await pafd.stop(), 0);
  }
});

// ------------------------------------------------------------------ check-config and stop

t('--check-config accepts every file in targets/ and rejects a broken one with one line, exit 1', async () => {
  const targets = join(process.cwd(), 'targets');
  const files = readdirSync(targets).filter((f) => f.endsWith('.yaml')).map((f) => join(targets, f));
  assert.ok(files.length >= 1);
  for (const file of files) {
    const r = await runPafdBounded(['--check-config', file]);
    // A board's log directory (/var/log/paf) is made by its service manager at the first start;
    // on this build machine it does not exist, and that is the one thing the check may say.
    if (r.code === 1 && /: log\.log_file \S+: directory \S+ does not exist\n$/.test(r.stderr)) continue;
    assert.is(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
    assert.is(r.stderr, '');
  }
  const dir = tempDir();
  const broken: [string, string, RegExp][] = [
    ['yaml', 'domains: [\n', /YAML syntax error/],
    ['schema', 'domains:\n  - sockets: [tcp:127.0.0.1:1]\n    idle: {min: 0}\n', /domains\[0\]\.idle\.min/],
    ['address', 'domains:\n  - sockets: [carrier-pigeon:1]\n', /domains\[0\]\.sockets\[0\]/],
    ['tls', `domains:\n  - sockets:\n      - addr: tls:127.0.0.1:0\n        tls: {cert: ${join(dir, 'c.pem')}, key: ${join(dir, 'k.pem')}, tc: ${join(dir, 't.pem')}}\n`,
      /domains\[0\]\.sockets\[0\] \(tls:127\.0\.0\.1:0\): cannot read TLS certificate file .*c\.pem: ENOENT/],
  ];
  for (const [what, text, re] of broken) {
    const file = join(dir, `${what}.yaml`);
    writeFileSync(file, text);
    const r = await runPafdBounded(['--check-config', file]);
    assert.is(r.code, 1, what);
    assert.is(r.stdout, '', what);
    assert.match(r.stderr, /^pafd: error reading configuration [^\n]+\n$/, what);
    assert.match(r.stderr, re, what);
  }
});

t('SIGTERM: clients closed, uxf file removed, exit 0 within a second', async () => {
  const sock = join(tempDir(), 'pafd.sock');
  const pafd = await startPafd(['-m', `${ANY_TCP}+uxf:${sock}`]);
  const clients = await Promise.all(Array.from({ length: 20 }, () => WireClient.open(pafd.addresses[0]!)));
  for (const c of clients) await publishOk(c, 'stop');
  assert.ok(existsSync(sock));
  const started = performance.now();
  assert.is(await pafd.stop('SIGTERM'), 0);
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `exited after ${ms.toFixed(0)} ms`);
  assert.not.ok(existsSync(sock), 'uxf socket file removed');
  for (const c of clients) await c.expectClosed(1000);
});

t.run();
