import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPafd } from '../../helpers/pafd';
import { freshAddress } from '../../helpers/transport';
import type { Pafd } from '../../helpers/pafd';
import { WireClient, randomId } from '../../helpers/wire';

const t = suite<{ pafd: Pafd }>('smoke', {} as { pafd: Pafd });
t.before(async (ctx) => { ctx.pafd = await startPafd([freshAddress()]); });
t.after(async (ctx) => { await ctx.pafd.stop(); });

t('hello, publish, subscribe, services, unpublish', async ({ pafd }) => {
  const a = await WireClient.open(pafd.addresses[0]);
  const sid = randomId();
  const { ta, reply } = await a.subscribe(sid, '(name=x)');
  assert.is(reply['msg-type'], 'accept');
  const svc = randomId();
  const r = await a.publish(svc, 1, { name: ['x'], port: [80n] }, 5);
  assert.is(r['msg-type'], 'complete');
  const n = await a.nextOf(ta);
  assert.is(n['match-type'], 'appeared');
  assert.is(n['service-id'], svc);
  const list = await a.list('services');
  assert.is(list.length, 1);
  assert.is((await a.unpublish(svc))['msg-type'], 'complete');
  assert.is((await a.nextOf(ta))['match-type'], 'disappeared');
  a.close();
});

t.run();
