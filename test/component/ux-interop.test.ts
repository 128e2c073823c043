// A python3 SEQPACKET client (standard library only, not ours) against
// pafd's ux: and uxf: sockets: proof that a non-Node peer interoperates.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startPafd, tempDir } from '../helpers/pafd';
import type { Pafd } from '../helpers/pafd';

const sockFile = join(tempDir(), 'pafd.sock');
const t = suite<{ pafd: Pafd }>('ux interop', {} as { pafd: Pafd });
t.before(async (ctx) => {
  ctx.pafd = await startPafd(['-m', `ux:paf-interop-${process.pid}+uxf:${sockFile}`]);
});
t.after(async (ctx) => { await ctx.pafd.stop(); });

for (const index of [0, 1]) {
  t(`python3 SEQPACKET client over ${index === 0 ? 'ux' : 'uxf'}: hello, subscribe, publish`, ({ pafd }) => {
    const address = pafd.addresses[index];
    assert.ok(address.startsWith(index === 0 ? 'ux:' : 'uxf:'), address);
    const script = join(process.cwd(), 'test', 'interop', 'seqpacket_client.py');
    const r = spawnSync('python3', [script, address], { encoding: 'utf8', timeout: 20000 });
    if (r.status !== 0) console.log(r.stdout, r.stderr);
    assert.is(r.status, 0, 'seqpacket_client.py exit status');
    assert.ok(r.stdout.includes('all checks passed'));
  });
}

t('S1 uxf socket file removed on SIGTERM', async ({ pafd }) => {
  assert.ok(existsSync(sockFile));
  assert.is(await pafd.stop('SIGTERM'), 0);
  assert.not.ok(existsSync(sockFile));
});

t.run();
