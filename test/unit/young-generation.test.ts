// pafd keeps V8's semi-spaces at their initial size unless the user sized
// them (src/server/memory.ts limitYoungGeneration).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getHeapSpaceStatistics } from 'node:v8';
import { limitYoungGeneration } from '../../src/server/memory';

test('a semi-space size on the command line or in NODE_OPTIONS is the user\'s choice: left alone', () => {
  assert.is(limitYoungGeneration(['--max-semi-space-size=8'], ''), false);
  assert.is(limitYoungGeneration(['--min_semi_space_size=2'], ''), false);
  assert.is(limitYoungGeneration([], '--max-old-space-size=96 --max-semi-space-size=1'), false);
});

test('otherwise the young generation no longer grows under allocation pressure', () => {
  assert.is(limitYoungGeneration(['--enable-source-maps'], '--max-old-space-size=96'), true);
  const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
  const before = newSpace();
  // Garbage with a survivor now and then: what makes V8 grow the semi-spaces.
  const keep: unknown[] = [];
  for (let round = 0; round < 100; round++) {
    const batch: { i: number; s: string }[] = [];
    for (let i = 0; i < 50_000; i++) batch.push({ i, s: `v${i}` });
    if (round % 10 === 0) keep.push(batch.slice(0, 500));
  }
  assert.ok(keep.length > 0);
  assert.ok(newSpace() <= before, `new space grew from ${before} to ${newSpace()} bytes`);
});

test.run();
