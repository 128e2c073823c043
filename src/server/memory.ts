// Gives memory back to the system after a connection with a large output
// backlog is cut off (docs/semantics.md §10; up to OUTPUT_HARD_LIMIT of queued
// notifications). V8 would keep the emptied heap pages for a long while:
// on a board, RSS then stays at the peak long after the offender is gone
// (docs/RELIABILITY.md). One full collection right after the close hands
// them back, and the C heap's freed memory (socket buffers) goes back
// through our addon's trimHeap. It pauses the event loop for some tens of
// milliseconds, so it
// runs only after such an overflow, and at most once per
// RELEASE_INTERVAL_MS however many clients overflow.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNative } from '../transport/native';

/** Time for the closed connection's queues to become garbage before collecting. */
const RELEASE_DELAY_MS = 200;
const RELEASE_INTERVAL_MS = 2_000;

let collector: (() => void) | null | undefined;
let lastRelease = -Infinity;
let scheduled = false;

/** V8's gc(), made available without --expose-gc on the command line (a single executable takes no node options). */
function gcFunction(): (() => void) | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collector = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collector = null;
  }
  return collector;
}

/** Asks for a full collection soon, unless one ran or is due within RELEASE_INTERVAL_MS. */
export function releaseMemorySoon(): void {
  if (scheduled || performance.now() - lastRelease < RELEASE_INTERVAL_MS) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    lastRelease = performance.now();
    gcFunction()?.();
    // Without the addon (a tcp-only install) the C heap keeps its size.
    loadNative()?.trimHeap();
  }, RELEASE_DELAY_MS).unref();
}
