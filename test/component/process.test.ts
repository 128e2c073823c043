// Conformance §8 (domains and sockets: D1, D2, D4) and §9 (process: S3,
// S5), the command-line and configuration error handling of
// docs/cli-and-config.md §1–§2 (docs/discrepancies.md B10–B13) and the exit status
// on signals, against the real pafd bundle.

import * as net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import { WireClient, randomId } from '../helpers/wire';
import type { Msg } from '../helpers/wire';
import {
  assertOneLineFailure, assertPings, bodyFields, isQuery, openTracked, openV2, replyToQuery, runPafdBounded, tempFile,
} from '../helpers/robust';
import type { PafdRun } from '../helpers/robust';

const ANY_PORT = 'tcp:127.0.0.1:0';

const t = suite('process');

/** Services and clients of the domain as one client sees them. */
async function view(c: WireClient): Promise<{ services: Msg[]; clients: Msg[] }> {
  return { services: await c.list('services'), clients: await c.list('clients') };
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

// ------------------------------------------------------------------ domains

async function assertIsolatedDomains(addresses: string[]): Promise<void> {
  const ports = new Set(addresses.map(portOf));
  assert.is(ports.size, addresses.length, 'every domain has its own port');
  const serviceId = randomId();
  const clients = await Promise.all(addresses.map((a) => WireClient.open(a)));
  for (const [i, c] of clients.entries()) {
    assert.is((await c.publish(serviceId, 0, { name: ['d1'], domain: [BigInt(i)] }, 30))['msg-type'], 'complete', `publish in domain ${i}`);
  }
  for (const [i, c] of clients.entries()) {
    const { services, clients: listed } = await view(c);
    assert.is(listed.length, 1, `domain ${i} has exactly one client`);
    assert.is(listed[0]!['client-id'], c.clientId, `domain ${i} lists its own client`);
    assert.is(services.length, 1, `domain ${i} has exactly one service`);
    assert.is(services[0]!['service-id'], serviceId);
    assert.equal((services[0]!['service-props'] as Record<string, unknown>)['domain'], [BigInt(i)], `domain ${i} has its own copy`);
  }
  for (const c of clients) c.close();
}

t('D1 8 domains given with -m, one client each publishing the same service id: each sees 1 client and 1 service', async () => {
  const DOMAINS = 8;
  const pafd = await startPafd(Array.from({ length: DOMAINS }, () => ['-m', ANY_PORT]).flat());
  try {
    assert.is(pafd.addresses.length, DOMAINS);
    await assertIsolatedDomains(pafd.addresses);
  } finally {
    await pafd.stop();
  }
});

t('D1 16 domains from the configuration file are isolated the same way', async () => {
  const DOMAINS = 16;
  const config = `domains:\n${Array.from({ length: DOMAINS }, (_, i) => `  - name: d${i}\n    sockets: [${ANY_PORT}]\n`).join('')}`;
  const pafd = await startPafd([], { config });
  try {
    assert.is(pafd.addresses.length, DOMAINS);
    await assertIsolatedDomains(pafd.addresses);
  } finally {
    await pafd.stop();
  }
});

t('D2 one domain with 16 tcp sockets: one client per socket each publishing; every client sees all clients and services', async () => {
  const SOCKETS = 16;
  const pafd = await startPafd(['-m', Array.from({ length: SOCKETS }, () => ANY_PORT).join('+')]);
  try {
    assert.is(pafd.addresses.length, SOCKETS);
    assert.is(new Set(pafd.addresses.map(portOf)).size, SOCKETS, 'every socket has its own port');
    const clients = await Promise.all(pafd.addresses.map((a) => WireClient.open(a)));
    const serviceIds = clients.map(() => randomId());
    for (const [i, c] of clients.entries()) {
      assert.is((await c.publish(serviceIds[i]!, 0, { name: ['d2'] }, 30))['msg-type'], 'complete');
    }
    const clientIds = clients.map((c) => c.clientId).sort();
    for (const c of clients) {
      const { services, clients: listed } = await view(c);
      assert.equal(listed.map((m) => m['client-id'] as bigint).sort(), clientIds, 'all clients');
      assert.equal(services.map((m) => m['service-id'] as bigint).sort(), [...serviceIds].sort(), 'all services');
    }
    for (const c of clients) c.close();
  } finally {
    await pafd.stop();
  }
});

t('D4 clients: a v2 requester gets 3 fields per entry, a v3 requester 5 (6 with latency); one entry per connection', async () => {
  const pafd = await startPafd([ANY_PORT]);
  try {
    const address = pafd.addresses[0]!;
    const v2 = await openV2(address);
    const plain = await WireClient.open(address, { min: 3, max: 3 });
    const { c: tracked, ta } = await openTracked(address);
    // A duplicate hello makes the server query the tracked client at once (docs/semantics.md §7.5);
    // answering it gives that client a latency.
    const dup = await WireClient.connect(address);
    dup.clientId = tracked.clientId;
    assert.is((await dup.hello(2, 3))['fail-reason'], 'client-id-exists');
    await tracked.next(isQuery(ta));
    replyToQuery(tracked, ta);
    await assertPings(tracked, 'the reply has been processed');
    dup.close();

    const everyone = [v2, plain, tracked];
    const expectedIds = everyone.map((c) => c.clientId).sort();
    const address_ = (c: WireClient) => `tcp:127.0.0.1:${c.localPort}`;
    const nowSeconds = BigInt(Math.floor(Date.now() / 1000));

    const fromV2 = await v2.list('clients');
    assert.equal(fromV2.map((m) => m['client-id'] as bigint).sort(), expectedIds, 'v2: one entry per connection incl. the requester');
    for (const m of fromV2) {
      assert.equal(bodyFields(m), ['client-address', 'client-id', 'time'], 'v2 field set');
    }

    for (const requester of [plain, tracked]) {
      const fromV3 = await requester.list('clients');
      assert.equal(fromV3.map((m) => m['client-id'] as bigint).sort(), expectedIds, 'v3: one entry per connection incl. the requester');
      for (const m of fromV3) {
        const c = everyone.find((x) => x.clientId === m['client-id'])!;
        const base = ['client-address', 'client-id', 'idle', 'protocol-version', 'time'];
        const expected = c === tracked ? [...base, 'latency'].sort() : base;
        assert.equal(bodyFields(m), expected, 'v3 field set');
        assert.is(m['protocol-version'], c === v2 ? 2n : 3n, 'protocol-version of the listed client');
        assert.is(m['client-address'], address_(c), 'client-address is the remote address');
        const time = m['time'] as bigint;
        assert.ok(time <= nowSeconds + 1n && time >= nowSeconds - 60n, `time ${time} is the accept time`);
        const idle = m['idle'];
        assert.ok((typeof idle === 'number' || typeof idle === 'bigint') && Number(idle) >= 0, 'idle is a number >= 0');
        if (c === tracked) assert.ok(Number(m['latency']) >= 0, 'latency is a number >= 0');
      }
    }
    for (const c of everyone) c.close();
  } finally {
    await pafd.stop();
  }
});

// ------------------------------------------------------------------ process

t('S3 -v and --version print the original\'s two lines, "Server version: ..." and "Protocol version(s): 2 3", and exit 0', async () => {
  for (const option of ['-v', '--version']) {
    const r = await runPafdBounded([option]);
    assert.is(r.code, 0, option);
    const lines = r.stdout.split('\n');
    assert.is(lines.length, 3, `two terminated lines, got ${JSON.stringify(r.stdout)}`);
    assert.match(lines[0]!, /^Server version: \d+\.\d+\.\d+\S*$/, 'a version number');
    assert.is(lines[1], 'Protocol version(s): 2 3');
    assert.is(lines[2], '');
    assert.is(r.stderr, '', option);
  }
});

t('S5 a bind failure (address in use) exits 1 with one line on stderr', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const line = assertOneLineFailure(await runPafdBounded(['-n', `tcp:127.0.0.1:${port}`]), 'address in use');
    assert.match(line, String(port), 'the line names the address');
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

t('S5 a bind failure of the second socket of a domain exits 1 too', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    assertOneLineFailure(await runPafdBounded(['-n', '-m', `${ANY_PORT}+tcp:127.0.0.1:${port}`]), 'second socket in use');
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

const BAD_COMMAND_LINES: [what: string, args: string[]][] = [
  ['B11 -l bogus', ['-l', 'bogus', ANY_PORT]],
  ['B11 -y bogus', ['-y', 'bogus', ANY_PORT]],
  ['B11 -c -1', ['-c', '-1', ANY_PORT]],
  ['-c x', ['-c', 'x', ANY_PORT]],
  ['-c 1.5', ['-c', '1.5', ANY_PORT]],
  ['-b x', ['-b', 'x', ANY_PORT]],
  ['-x x', ['-x', 'x', ANY_PORT]],
  ['an unknown option', ['-q', ANY_PORT]],
  ['a missing option argument', [ANY_PORT, '-l']],
  ['no domain', ['-n']],
  ['no arguments at all', []],
  ['an address that is not an XCM address', ['-n', 'nonsense']],
  ['-f with a file that does not exist', ['-n', '-f', '/nonexistent/pafd.yaml']],
];

const BAD_CONFIGS: [what: string, yaml: string][] = [
  ['B12 a YAML syntax error', 'domains: [tcp:127.0.0.1:0\n  - sockets: {\n'],
  ['B12 idle.min 0', `domains:\n  - sockets: [${ANY_PORT}]\n    idle: {min: 0, max: 4}\n`],
  ['B12 idle.min > idle.max', `domains:\n  - sockets: [${ANY_PORT}]\n    idle: {min: 5, max: 4}\n`],
  ['B12 an unknown key in a socket tls section', `domains:\n  - sockets:\n      - addr: tls:127.0.0.1:0\n        tls: {cert: /x/cert.pem, bogus: 1}\n`],
  ['B13 a YAML boolean as idle.min', `domains:\n  - sockets: [${ANY_PORT}]\n    idle: {min: true, max: 4}\n`],
  ['a domain without sockets', 'domains:\n  - name: empty\n'],
  ['a negative resource limit', `domains:\n  - sockets: [${ANY_PORT}]\nresources: {total: {clients: -1}}\n`],
];

// Node takes a while to start on a busy machine: the failing runs all start
// together when the first of their tests runs, and each test awaits its own.
let failingRuns: Map<string, Promise<PafdRun>> | undefined;
function failingRun(what: string): Promise<PafdRun> {
  failingRuns ??= new Map([
    ...BAD_COMMAND_LINES.map(([w, args]) => [`cli ${w}`, runPafdBounded(args)] as const),
    ...BAD_CONFIGS.map(([w, yaml]) => [`config ${w}`, runPafdBounded(['-n', '-f', tempFile('pafd.yaml', yaml)])] as const),
  ]);
  return failingRuns.get(what)!;
}

for (const [what] of BAD_COMMAND_LINES) {
  t(`CLI ${what} exits 1 with one line on stderr`, async () => {
    assertOneLineFailure(await failingRun(`cli ${what}`), what);
  });
}

for (const [what] of BAD_CONFIGS) {
  t(`config ${what} exits 1 with one "error reading configuration" line on stderr`, async () => {
    const line = assertOneLineFailure(await failingRun(`config ${what}`), what);
    assert.match(line, /error reading configuration/);
  });
}

t('B10 -c 0 means no client limit (while -c 2 admits only two connections)', async () => {
  const limited = await startPafd(['-c', '2', ANY_PORT]);
  try {
    const address = limited.addresses[0]!;
    const a = await WireClient.open(address);
    const b = await WireClient.open(address);
    const third = await WireClient.connect(address);
    await third.expectClosed(1000);
    await assertPings(a);
    a.close();
    b.close();
  } finally {
    await limited.stop();
  }
  const unlimited = await startPafd(['-c', '0', ANY_PORT]);
  try {
    const MANY = 20;
    const clients = await Promise.all(Array.from({ length: MANY }, () => WireClient.open(unlimited.addresses[0]!)));
    for (const c of clients) await assertPings(c);
    assert.is((await clients[0]!.list('clients')).length, MANY);
    for (const c of clients) c.close();
  } finally {
    await unlimited.stop();
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t(`${signal} closes the client connections and exits 0`, async () => {
    const pafd = await startPafd([ANY_PORT]);
    const c = await WireClient.open(pafd.addresses[0]!);
    assert.is((await c.publish(randomId(), 0, { name: ['sig'] }, 30))['msg-type'], 'complete');
    assert.is(await pafd.stop(signal), 0, `exit status after ${signal}`);
    await c.expectClosed(1000);
  });
}

t.run();
