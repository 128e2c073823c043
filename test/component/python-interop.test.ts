// A client that is not ours (python3, standard library only) speaks the
// wire protocol to the bundle: proof that what we send is what the spec
// says, byte-level framing included.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';

const t = suite<{ pafd: Pafd }>('python interop', {} as { pafd: Pafd });
t.before(async (ctx) => { ctx.pafd = await startPafd(['tcp:127.0.0.1:0']); });
t.after(async (ctx) => { await ctx.pafd.stop(); });

t('python3 raw TCP client: hello, subscribe, publish, services, subscriptions, unpublish, unsubscribe', ({ pafd }) => {
  const script = join(process.cwd(), 'test', 'interop', 'raw_client.py');
  const r = spawnSync('python3', [script, pafd.addresses[0]], { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) console.log(r.stdout, r.stderr);
  assert.is(r.status, 0, 'raw_client.py exit status');
  assert.ok(r.stdout.includes('all checks passed'));
});

t.run();
