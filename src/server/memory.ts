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

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import type { MemoryLimits } from '../core/budget';
import { defaultMemoryLimits } from '../core/budget';
import { runInNewContext } from 'node:vm';
import { loadNative } from '../transport/native';

/**
 * The memory budgets of each of `domains` domains: as configured, and
 * where a scope has none, derived from the heap this process actually has
 * (V8's heap_size_limit, i.e. --max-old-space-size and the young
 * generation), so that whatever clients can make pafd keep fits in it
 * with room for garbage (core/budget.ts HEAP_SHARE).
 */
export function memoryLimitsOf(limits: { total: { memory?: number }; user: { memory?: number } }, domains: number): MemoryLimits {
  const derived = defaultMemoryLimits(getHeapStatistics().heap_size_limit, domains);
  const total = limits.total.memory ?? derived.total;
  // A configured total below the derived user share caps the user share too.
  const user = limits.user.memory ?? Math.min(derived.user, Math.floor(total * 0.5));
  return { total, user };
}

/**
 * V8 grows the young generation under allocation pressure, up to 16 MiB
 * per semi-space (three of them are committed: 48 MiB) with Node's
 * defaults, and never gives it back. For pafd that is most of its
 * private memory: a burst of publishes left RssAnon at ~29 MiB with
 * 10,000 services, of which the directory is 5.6 MB. Keeping the
 * semi-spaces at their initial 1 MiB (no growth) costs little speed here
 * (docs/PERFORMANCE.md), so pafd does it by default, at run time (V8
 * reads the growth factor whenever it would grow; a single executable
 * takes no node options). Whoever sets a semi-space size on the command
 * line or in NODE_OPTIONS (the board targets do) has chosen: left alone.
 */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';
const SEMI_SPACE_CHOICE = /--(?:max|min)[-_]semi[-_]space[-_]size/;

/** Applies YOUNG_GENERATION_FLAG unless the user sized the young generation; whether it did. */
export function limitYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env['NODE_OPTIONS'] ?? ''): boolean {
  if (execArgv.some((a) => SEMI_SPACE_CHOICE.test(a)) || SEMI_SPACE_CHOICE.test(nodeOptions)) return false;
  setFlagsFromString(YOUNG_GENERATION_FLAG);
  return true;
}

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

/**
 * Asks for a full collection soon: RELEASE_DELAY_MS from now, or, if one
 * ran less than RELEASE_INTERVAL_MS ago, once that interval is over (an
 * overflow right after another still gets its memory back, only later).
 * At most one is pending at a time.
 */
export function releaseMemorySoon(): void {
  if (scheduled) return;
  scheduled = true;
  const delay = Math.max(RELEASE_DELAY_MS, lastRelease + RELEASE_INTERVAL_MS - performance.now());
  setTimeout(() => {
    scheduled = false;
    lastRelease = performance.now();
    gcFunction()?.();
    // Without the addon (a tcp-only install) the C heap keeps its size.
    loadNative()?.trimHeap();
  }, delay).unref();
}
