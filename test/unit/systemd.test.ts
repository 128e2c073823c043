// The sd_notify pieces that do not need a socket: $NOTIFY_SOCKET forms,
// the watchdog interval and WATCHDOG_PID, and the no-addon warning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../../src/log/logger';
import { SystemdNotifier, notifyTarget, watchdogPingMs } from '../../src/server/systemd';

test('NOTIFY_SOCKET: @abstract or /path; anything else is not addressable', () => {
  assert.equal(notifyTarget('@/org/freedesktop/systemd1/notify/1'), { name: '/org/freedesktop/systemd1/notify/1', abstract: true });
  assert.equal(notifyTarget('/run/systemd/notify'), { name: '/run/systemd/notify', abstract: false });
  assert.is(notifyTarget(undefined), undefined);
  assert.is(notifyTarget('@'), undefined);
  assert.is(notifyTarget('vsock:2:1234'), undefined);
});

test('watchdog: pings at half of WATCHDOG_USEC, only for our pid', () => {
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '30000000' }, 5), 15000);
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '99999999999999' }, 5), 0x7fffffff, 'never beyond what setInterval can wait');
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '5' }, 5), 15000);
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '6' }, 5), undefined);
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '1000' }, 5), 1, 'never 0 ms');
  assert.is(watchdogPingMs({}, 5), undefined);
  assert.is(watchdogPingMs({ WATCHDOG_USEC: '0' }, 5), undefined);
  assert.is(watchdogPingMs({ WATCHDOG_USEC: 'soon' }, 5), undefined);
});

test('no notifier without NOTIFY_SOCKET; a warning and none without the addon; messages in order with one', () => {
  const lines: string[] = [];
  const log = new Logger('debug');
  log.setSinks([(level, m) => lines.push(`${level}:${m}`)]);
  assert.is(SystemdNotifier.fromEnvironment({}, log, () => { throw new Error('not asked'); }), undefined);
  assert.is(SystemdNotifier.fromEnvironment({ NOTIFY_SOCKET: '@n' }, log, () => 'no addon here'), undefined);
  assert.equal(lines, ['warning:NOTIFY_SOCKET is set but notifications cannot be sent (no addon here); systemd is not notified']);

  const sent: string[] = [];
  let error: string | null = null;
  const n = SystemdNotifier.fromEnvironment({ NOTIFY_SOCKET: '/run/n' }, log, () => (name, abstract, data) => {
    assert.is(name, '/run/n');
    assert.is(abstract, false);
    sent.push(data);
    return error;
  })!;
  n.ready('serving');
  n.reloading();
  error = 'ECONNREFUSED';
  n.reloaded('serving again');
  n.stopping();
  assert.is(sent[0], 'READY=1\nSTATUS=serving');
  assert.match(sent[1]!, /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading the configuration$/);
  assert.is(sent[2], 'READY=1\nSTATUS=serving again');
  assert.is(sent[3], 'STOPPING=1\nSTATUS=shutting down');
  assert.equal(lines.slice(1), ['warning:cannot notify systemd at /run/n: ECONNREFUSED'], 'one warning for two failures');
});

test.run();
