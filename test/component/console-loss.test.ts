// pafd must survive losing its console: when the reader of stderr goes
// away (EPIPE), it keeps serving, stays idle, and still exits on SIGTERM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { PAFD_BUNDLE } from '../helpers/pafd';
import { WireClient } from '../helpers/wire';

test('pafd keeps serving after its stderr reader is gone, and exits 0 on SIGTERM', async () => {
  const proc = spawn(process.execPath, [PAFD_BUNDLE, '-s', '-n', '-l', 'debug', 'tcp:127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve) => {
    let buf = '';
    proc.stderr!.on('data', (d) => {
      buf += d;
      const m = /listening on (\S+)/.exec(buf);
      if (m) resolve(m[1]);
    });
  });
  proc.stderr!.destroy(); // the console reader dies
  // Every request below makes pafd log at debug level into the dead pipe.
  for (let i = 0; i < 3; i++) {
    const c = await WireClient.open(address);
    assert.is((await c.ping())['msg-type'], 'complete');
    c.close();
    await c.closed;
  }
  const stat = () => Number(require('node:fs').readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ')[11]);
  const ticks0 = stat();
  const c = await WireClient.open(address);
  assert.is((await c.ping())['msg-type'], 'complete');
  c.close();
  // A spinning process would burn many clock ticks (100/s) across this ping.
  assert.ok(stat() - ticks0 < 50, 'pafd is not spinning');
  proc.kill('SIGTERM');
  assert.is(await exited, 0);
});

test.run();
