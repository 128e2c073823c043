// Run settings shared by the property-based tests (test/unit/prop-*): a
// fixed seed so that CI is deterministic; PAF_PROP_SEED replays a reported
// failure or explores another seed, and the long form of the reliability
// run (PAF_RELIABILITY_LONG=1) runs ten times the cases.

const DEFAULT_SEED = 0x5eed;
const SEED = process.env.PAF_PROP_SEED ? Number.parseInt(process.env.PAF_PROP_SEED, 10) : DEFAULT_SEED;
const LONG_FORM_FACTOR = 10;
const SCALE = process.env.PAF_RELIABILITY_LONG === '1' ? LONG_FORM_FACTOR : 1;

/** fast-check parameters for a property checked on `numRuns` cases in the short form. */
export function runs(numRuns: number): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns: numRuns * SCALE };
}

/**
 * Applies text edits as fast-check generates them: [position, kind,
 * character], the position taken modulo the text's length + 1; kinds
 * insert, delete, replace (the character) and truncate.
 */
export function applyEdits(text: string, edits: readonly (readonly [number, string, string])[]): string {
  let t = text;
  for (const [at, kind, c] of edits) {
    const i = t.length === 0 ? 0 : at % (t.length + 1);
    if (kind === 'insert') t = t.slice(0, i) + c + t.slice(i);
    else if (kind === 'delete') t = t.slice(0, i) + t.slice(i + 1);
    else if (kind === 'replace') t = t.slice(0, i) + c + t.slice(i + 1);
    else t = t.slice(0, i);
  }
  return t;
}
