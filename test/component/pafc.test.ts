// pafc (dist/pafc.js) against a real pafd: commands through piped
// standard input and -c, the v2 track error, exit statuses, domain files,
// and, through a pseudo-terminal (python3's pty module), tab completion,
// history recall and persistence, and match lines printed above a
// partly typed line.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WireClient } from '../../src/client/wire';
import type { Pafd } from '../helpers/pafd';
import { startPafd, tempDir } from '../helpers/pafd';

const PAFC = join(process.cwd(), 'dist', 'pafc.js');
const WAIT_MS = 5000;

/** Relays its stdin to a program in a new pty and the pty's output to its stdout; exits with the program's status. */
const PTY_RELAY = `
import os, pty, sys, select, fcntl, termios, struct
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 200, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
inputs = [fd, 0]
while True:
    r, _, _ = select.select(inputs, [], [])
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** Terminal control sequences (CSI … and ESC x) removed, so tests read what a person sees in order. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[^[]/g, '');
}

/** A running pafc whose output a test can wait on. */
class Pafc {
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  private waiters: { re: RegExp; from: number; resolve: () => void }[] = [];

  constructor(readonly proc: ChildProcess, private readonly view: (raw: string) => string = (s) => s) {
    proc.stdout!.on('data', (d: Buffer) => { this.out += d.toString(); this.check(); });
    proc.stderr!.on('data', (d: Buffer) => { this.err += d.toString(); });
    this.exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  }

  /** Output as shown (control sequences removed for a pty). */
  get text(): string { return this.view(this.out); }

  /** Waits until the output after position `from` (of text) matches; returns the text length then. */
  waitFor(re: RegExp, from = 0, ms = WAIT_MS): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = () => { clearTimeout(timer); resolve(this.text.length); };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no ${re} within ${ms} ms; output:\n${JSON.stringify(this.text.slice(from))}\nstderr: ${this.err}`));
      }, ms);
      this.waiters.push({ re, from, resolve: done });
      this.check();
    });
  }

  write(text: string): void { this.proc.stdin!.write(text); }

  private check(): void {
    const text = this.text;
    this.waiters = this.waiters.filter((w) => (w.re.test(text.slice(w.from)) ? (w.resolve(), false) : true));
  }
}

function startPafc(args: string[], env: NodeJS.ProcessEnv = {}): Pafc {
  return new Pafc(spawn(process.execPath, [PAFC, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
}

function startPafcInPty(args: string[], home: string): Pafc {
  const proc = spawn('python3', ['-c', PTY_RELAY, process.execPath, PAFC, ...args], {
    env: { ...process.env, HOME: home, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Pafc(proc, plain);
}

/** Runs pafc to the end with `input` on stdin. */
async function runPafc(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = startPafc(args, env);
  p.proc.stdin!.end(input);
  const code = await p.exited;
  return { code, out: p.out, err: p.err };
}

const HEX = '0x[0-9a-f]+';
const hasPython = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

let pafd: Pafd;
let address: string;

const batch = suite('pafc without a terminal');
batch.before(async () => {
  pafd = await startPafd(['tcp:127.0.0.1:0']);
  address = pafd.addresses[0]!;
});
batch.after(async () => { await pafd.stop(); });

batch('publish, services, subscribe with its match, unsubscribe, track, a bad command; exit 1', async () => {
  const { code, out } = await runPafc([address], [
    'publish 0 30 name pafc-batch port 8080 label |42|',
    'services (name=pafc-batch)',
    'subscribe (name=pafc-batch)',
    // A ping's reply comes after every notification the subscribe caused.
    'ping',
    'track',
    'track query',
    'bogus',
    'subscriptions',
  ].join('\n') + '\n');
  assert.is(code, 1, out);
  const lines = out.split('\n');
  const serviceId = new RegExp(`^Service Id: (${HEX})\\.$`).exec(lines[0]!)?.[1];
  assert.ok(serviceId, out);
  assert.is(lines[1], 'OK.');
  assert.match(lines[2]!, /^Service Id\s+Generation\s+TTL\s+Orphan Timeout\s+Client Id\s+Properties$/);
  assert.match(lines[3]!, new RegExp(`^${serviceId}\\s+0\\s+30\\s+-\\s+${HEX}\\s+\\{'name': 'pafc-batch', 'port': 8080, 'label': '42'\\}$`));
  assert.is(lines[4], 'OK.');
  const subId = new RegExp(`^Subscription Id: (${HEX})\\.$`).exec(lines[5]!)?.[1];
  assert.ok(subId, out);
  assert.is(lines[6], 'OK.');
  assert.match(lines[7]!, new RegExp(`^Subscription ${subId}: appeared service ${serviceId} generation 0 ttl 30 owner ${HEX} props \\{'name': 'pafc-batch', 'port': 8080, 'label': '42'\\}$`));
  assert.match(lines[8]!, /^Round-trip time: \d+\.\d{3} ms\.$/);
  assert.equal(lines.slice(9, 10), ['OK.']);
  assert.is(lines[10], 'OK.', 'track');
  assert.match(lines[11]!, /^Track query latency: \d+\.\d{3} ms\.$/);
  assert.is(lines[12], 'OK.');
  assert.is(lines[13], 'Error: unknown command "bogus"; type "help" for a list');
  assert.match(lines[14]!, /^Subscription Id\s+Client Id\s+Filter$/);
  assert.ok(lines.some((l) => new RegExp(`^${subId}\\s+${HEX}\\s+\\(name=pafc-batch\\)$`).test(l)), out);
});

batch('every command succeeding exits 0; unsubscribe prints canceled; unpublish removes', async () => {
  const client = await WireClient.connect(address);
  try {
    const id = 0x5eed01n;
    const { code, out } = await runPafc([address], [
      `publish ${id.toString(16)} 1 10 name pafc-ok`,
      'id',
      'version',
      'hello',
      'help',
      'help track',
      '# a comment line',
      '',
    ].join('\n') + '\n');
    assert.is(code, 0, out);
    assert.match(out, /^OK\.\n0x[0-9a-f]+\nSupported protocol versions: 2-3\nOffered protocol versions: 2-3\nProtocol version in use: 3\nProtocol version: 3\.\nOK\.\n/);
    assert.match(out, /\nunsubscribe <subscription-id> +cancel a subscription\n/);
    assert.match(out, /\ntrack \[query\|verbose\|quiet\]: .*\n/);
    const services = await client.services('(name=pafc-ok)');
    assert.is(services.length, 1);
    assert.is(services[0]!.serviceId, id);

    const sub = startPafc([address]);
    sub.write('subscribe (name=pafc-ok)\nping\n');
    await sub.waitFor(/Round-trip/);
    const subId = new RegExp(`Subscription Id: (${HEX})`).exec(sub.text)![1]!;
    // The first pafc has quit: its service is an orphan now.
    assert.match(sub.text, new RegExp(`Subscription ${subId}: appeared service 0x5eed01 generation 1 ttl 10 orphan-timeout \\d+\\.\\d owner ${HEX} props \\{'name': 'pafc-ok'\\}\n`));
    // A match caused by another client arrives on its own.
    let mark = sub.text.length;
    await client.publish(id, 2n, { name: 'pafc-ok', color: 'red' }, 10n);
    await sub.waitFor(new RegExp(`Subscription ${subId}: modified service 0x5eed01 generation 2 ttl 10 owner ${HEX} props \\{'name': 'pafc-ok', 'color': 'red'\\}\n`), mark);
    mark = sub.text.length;
    sub.write(`unpublish 5eed01\nunsubscribe ${subId}\n`);
    // Unpublishing another client's service takes it over first (a modified match), then removes it.
    // Matches that arrive while a command runs are printed after its last line.
    await sub.waitFor(new RegExp(`^OK\\.\\n(?:Subscription ${subId}: modified [^\\n]*\\n)?Subscription ${subId}: disappeared service 0x5eed01\\nOK\\.\\nSubscription ${subId}: canceled\\.\\n$`), mark);
    sub.write('quit\nping\n');
    assert.is(await sub.exited, 0);
    assert.not.match(sub.text, /Round-trip[\s\S]*Round-trip/, 'nothing runs after quit');
    assert.is((await client.services('(name=pafc-ok)')).length, 0);
  } finally {
    client.close();
  }
});

batch('-c runs ";"-separated commands; track on v2 prints an error and pafc goes on', async () => {
  const p = startPafc(['-p', '2', '-c', 'track; version; ping', address]);
  const code = await p.exited;
  assert.is(code, 1, p.out);
  const lines = p.out.split('\n');
  assert.is(lines[0], 'Error: track needs protocol version 3; this connection uses version 2');
  assert.equal(lines.slice(1, 4), ['Supported protocol versions: 2-3', 'Offered protocol versions: 2-2', 'Protocol version in use: 2']);
  assert.match(lines[4]!, /^Round-trip time: /);
  assert.is(lines[5], 'OK.');
  const ok = await runPafc(['-i', 'abc', '-c', 'id', address], '');
  assert.is(ok.code, 0);
  assert.is(ok.out, '0xabc\n');
});

batch('server errors, usage errors and a second track are one-line errors', async () => {
  const { code, out } = await runPafc([address], [
    'unpublish 123456',
    'publish 1',
    'publish zz 1 2',
    'subscribe (bad',
    'unsubscribe',
    'services "(unclosed',
    'track',
    'track',
    'track sideways',
  ].join('\n') + '\n');
  assert.is(code, 1);
  assert.equal(out.split('\n'), [
    'Error: unpublish failed: non-existent-service-id',
    'Error: usage: publish [<service-id>] <generation> <ttl> [<name> <value>] ...',
    'Error: service id "zz" is not a hexadecimal number',
    // No subscription id for a filter the server refused; the parser says what is wrong.
    'Error: subscribe failed: invalid-filter-syntax (unexpected end of filter (\'=\', \'>\' or \'<\' expected) at offset 4)',
    'Error: usage: unsubscribe <subscription-id>',
    'Error: no closing quotation',
    'OK.',
    'Error: a track transaction already exists',
    'Error: unknown track subcommand "sideways"; usage: track [query|verbose|quiet]',
    '',
  ]);
});

batch('connection failures and bad options exit 1 with a message', async () => {
  const refused = await runPafc(['tcp:127.0.0.1:1'], '');
  assert.is(refused.code, 1);
  assert.match(refused.err, /^pafc: cannot connect to tcp:127\.0\.0\.1:1: /);
  assert.is(refused.out, '');
  const badVersion = await runPafc(['-p', '4', address], '');
  assert.is(badVersion.code, 1);
  assert.match(badVersion.err, /protocol version "4": must be 2 or 3/);
  const help = await runPafc(['-h'], '');
  assert.is(help.code, 0);
  assert.match(help.out, /^Usage:\n {2}pafc /);
});

batch('domain files: lookup, -n, -a, -l', async () => {
  const dir = tempDir('pafc-domains-');
  writeFileSync(join(dir, 'east'), `# two servers\n  ${address}  \ntcp:127.0.0.1:1\n`);
  writeFileSync(join(dir, 'west'), JSON.stringify({ servers: [{ address, maxProtocolVersion: 2 }] }));
  const env = { PAF_DOMAINS: dir };
  const listed = await runPafc(['-l'], '', env);
  assert.is(listed.out, 'east\nwest\n');
  const addresses = await runPafc(['-a', 'east'], '', env);
  assert.is(addresses.out, `${address}\ntcp:127.0.0.1:1\n`);
  const first = await runPafc(['-c', 'ping', 'east'], '', env);
  assert.is(first.code, 0, first.err);
  const second = await runPafc(['-n', '1', '-c', 'ping', 'east'], '', env);
  assert.is(second.code, 1);
  assert.match(second.err, /cannot connect to tcp:127\.0\.0\.1:1/);
  const outOfRange = await runPafc(['-n', '2', '-c', 'ping', 'east'], '', env);
  assert.is(outOfRange.code, 1);
  assert.match(outOfRange.err, /server index 2 is out of range/);
  const notDomain = await runPafc(['-n', '0', '-c', 'ping', address], '', env);
  assert.is(notDomain.code, 1);
  const v2 = await runPafc(['-c', 'version', 'west'], '', env);
  assert.match(v2.out, /Offered protocol versions: 2-2\nProtocol version in use: 2\n/);
  const missing = await runPafc(['-a', 'north'], '', env);
  assert.is(missing.code, 1);
});

batch('the connection closed by the server ends pafc with status 1', async () => {
  const p = startPafc([address]);
  p.write('id\n');
  await p.waitFor(/^0x[0-9a-f]+\n/);
  await pafd.stop();
  assert.is(await p.exited, 1);
  // An orderly close (issue 13), not a transport error.
  assert.match(p.out, /Connection closed: closed by peer\./);
  pafd = await startPafd(['tcp:127.0.0.1:0']);
  address = pafd.addresses[0]!;
});

const tty = suite('pafc at a terminal');
let home: string;
tty.before(async () => {
  pafd = await startPafd(['tcp:127.0.0.1:0']);
  address = pafd.addresses[0]!;
  home = tempDir('pafc-home-');
});
tty.after(async () => { await pafd.stop(); });

tty('tab completes "pu" to publish, up-arrow recalls the line, history is saved', async () => {
  if (!hasPython) { console.log('python3 with pty not found: skipped'); return; }
  const p = startPafcInPty([address], home);
  let mark = await p.waitFor(/> $/);
  p.write('pu\t');
  mark = await p.waitFor(/^publish $/, mark);
  p.write('0 30 color blue\r');
  mark = await p.waitFor(/Service Id: 0x[0-9a-f]+\.\r\nOK\.\r\n> $/, mark);
  p.write('\x1b[A');
  mark = await p.waitFor(/> publish 0 30 color blue$/, mark);
  p.write('\r');
  mark = await p.waitFor(/Service Id: 0x[0-9a-f]+\.\r\nOK\.\r\n> $/, mark);
  p.write('track v\t');
  mark = await p.waitFor(/verbose$/, mark);
  p.write('\r');
  mark = await p.waitFor(/OK\.\r\n> $/, mark);
  p.write('services (color=blue)\r');
  mark = await p.waitFor(/OK\.\r\n> $/, mark);
  const rows = p.text.split('\r\n').filter((l) => /^0x[0-9a-f]+ +0 +30 +- +0x[0-9a-f]+ +\{'color': 'blue'\}$/.test(l));
  assert.is(rows.length, 2, p.text);
  p.write('quit\r');
  assert.is(await p.exited, 0);
  const history = readFileSync(join(home, '.pafc_history'), 'utf8').split('\n');
  assert.equal(history, ['publish 0 30 color blue', 'track verbose', 'services (color=blue)', 'quit', '']);

  // A new pafc starts with that history: up twice gives "services (color=blue)".
  const again = startPafcInPty([address], home);
  mark = await again.waitFor(/> $/);
  again.write('\x1b[A\x1b[A');
  mark = await again.waitFor(/> services \(color=blue\)$/, mark);
  again.write('\x15quit\r');
  assert.is(await again.exited, 0);
});

tty('a match arriving while the user types is printed above the prompt, the typed text kept', async () => {
  if (!hasPython) return;
  const client = await WireClient.connect(address);
  try {
    const p = startPafcInPty([address], home);
    let mark = await p.waitFor(/> $/);
    p.write('subscribe (name=pafc-tty)\r');
    mark = await p.waitFor(/OK\.\r\n> $/, mark);
    p.write('serv');
    mark = await p.waitFor(/serv$/, mark);
    await client.publish(0x77n, 0n, { name: 'pafc-tty' }, 5n);
    mark = await p.waitFor(/Subscription 0x[0-9a-f]+: appeared service 0x77 generation 0 ttl 5 owner 0x[0-9a-f]+ props \{'name': 'pafc-tty'\}\r\n\r?> serv$/, mark);
    p.write('ices (name=pafc-tty)\r');
    mark = await p.waitFor(/\r\n0x77 +0 +5 +- +0x[0-9a-f]+ +\{'name': 'pafc-tty'\}\r\nOK\.\r\n> $/, mark);
    // Ctrl-D on an empty line quits.
    p.write('\x04');
    assert.is(await p.exited, 0);
  } finally {
    client.close();
  }
});

batch.run();
tty.run();
