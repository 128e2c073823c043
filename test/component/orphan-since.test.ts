// orphan-since against a client's own microsecond clock (issue 13,
// conformance O1), from a client that is not ours: python3 publishes,
// reads time.time() and closes at once, 200 times per transport, while
// it watches with a subscription on another connection
// (test/interop/orphan_since_client.py). Every orphan-since must be no
// earlier than that reading and at most 0.25 s later: pafd reports the
// wall clock with microsecond resolution, rounded up, never a millisecond
// clock truncated below the close.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';
import { runInteropClient } from '../helpers/python';
import { freshAddress, serverEnv } from '../helpers/transport';

const ROUNDS = 200;

const t = suite<{ pafd: Pafd }>('orphan-since resolution', {} as { pafd: Pafd });
t.before(async (ctx) => {
  ctx.pafd = await startPafd([], {
    env: serverEnv('tls'),
    config: `domains:\n  - sockets: [tcp:127.0.0.1:0, tls:127.0.0.1:0, ${freshAddress('ux')}]\n`,
  });
});
t.after(async (ctx) => { await ctx.pafd?.stop(); });

t(`${ROUNDS} rounds of "publisher reads time.time() and closes": orphan-since within [close, close + 0.25 s] over tcp, tls and ux`, async ({ pafd }) => {
  const runs = await Promise.all(pafd.addresses.map((a) => runInteropClient('orphan_since_client.py', [String(ROUNDS)], a, 120000)));
  for (const run of runs) {
    assert.ok(run.status === 0 && new RegExp(`^${ROUNDS} rounds ok`, 'm').test(run.out), `${run.what}: ${run.out}`);
  }
});

t.run();
