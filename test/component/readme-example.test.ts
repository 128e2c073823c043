// The README's client library example, run against a real pafd: the
// example a newcomer copies must work as written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attach } from '../../src/client';
import { startPafd } from '../helpers/pafd';

test('README client example publishes, sees its own service, modifies and detaches', async () => {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  assert.ok(readme.includes("const ctx = await attach({ servers: ['tcp:127.0.0.1:4711'] });"), 'README example changed: update this test');
  const pafd = await startPafd(['tcp:127.0.0.1:0']);
  try {
    const ctx = await attach({ servers: [pafd.addresses[0]] });
    const events: string[] = [];
    const seen = new Promise<void>((resolve) => {
      ctx.subscribe('(name=billing)', (event) => {
        events.push(`${event.type} ${event.props.get('port')?.[0]}`);
        if (events.length === 2) resolve();
      });
    });
    const service = ctx.publish({ name: 'billing', port: 8443 }, { ttl: 30 });
    await ctx.whenSynced();
    service.modify({ name: 'billing', port: 8444 });
    await seen;
    assert.equal(events, ['appeared 8443', 'modified 8444']);
    await ctx.detach();
  } finally {
    await pafd.stop();
  }
});

test.run();
