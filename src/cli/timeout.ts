// How long pafc and pafbench wait for a server: for the transport connect
// (TLS handshake included) and then, separately, for the reply to hello.
// Without a bound, a listener that accepts and never answers (a stuck
// server, a port that is not Pathfinder's) hangs the tool for ever.

/** Default of -t / --timeout, in seconds: ample for a loaded board, short enough for a person waiting. */
export const DEFAULT_TIMEOUT_SECONDS = 5;
/** Largest accepted value: Node's timers cannot wait longer (2^31 − 1 ms). */
const MAX_TIMEOUT_SECONDS = 2147483;

/** Seconds (a positive decimal number, fractions allowed), or undefined if `text` is not one. */
export function parseTimeoutSeconds(text: string): number | undefined {
  if (!/^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text)) return undefined;
  const seconds = Number(text);
  return seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS ? seconds : undefined;
}

/** The WireClient.connect() options for a timeout of `seconds`. */
export function connectTimeouts(seconds: number): { connectTimeoutMs: number; helloTimeoutMs: number } {
  const ms = Math.round(seconds * 1000);
  return { connectTimeoutMs: ms, helloTimeoutMs: ms };
}
