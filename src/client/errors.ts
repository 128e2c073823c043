// libpaf's error codes (docs/client-library.md §2.2), three of our own for
// what only a Node API has (bad argument values, the missing addon, an
// AbortSignal), and the error type the high-level API throws with them.

/** libpaf's numeric error codes (−1 … −6) and ours (−7 … −9). */
export const PafErrorCode = {
  /** Any other failure. */
  GENERIC: -1,
  /** The property size estimate exceeds 32768 (docs/client-library.md §2.4). */
  PROPS_TOO_LARGE: -2,
  /** Kept for completeness: a caller-supplied buffer was too small (C API only). */
  BUFFER_TOO_SMALL: -3,
  /** A filter longer than 8192 characters. */
  FILTER_TOO_LARGE: -4,
  /** A filter the server's parser rejects. */
  INVALID_FILTER_SYNTAX: -5,
  /** The context has been detached (or closed). */
  DETACHED: -6,
  /** Ours: a property value, TTL or option that cannot be used (libpaf's C types rule these out). */
  INVALID_ARGUMENT: -7,
  /** Ours: a ux:/uxf: server while the native addon cannot be loaded; the message says where it was looked for. */
  TRANSPORT_UNAVAILABLE: -8,
  /** Ours: the AbortSignal given to a waiting operation fired; `cause` is the signal's reason. */
  ABORTED: -9,
} as const;

/** One of the values of PafErrorCode. */
export type PafErrorCodeValue = (typeof PafErrorCode)[keyof typeof PafErrorCode];

const MESSAGES: ReadonlyMap<number, string> = new Map([
  [PafErrorCode.GENERIC, 'generic error'],
  [PafErrorCode.PROPS_TOO_LARGE, 'properties too large'],
  [PafErrorCode.BUFFER_TOO_SMALL, 'buffer too small'],
  [PafErrorCode.FILTER_TOO_LARGE, 'filter too large'],
  [PafErrorCode.INVALID_FILTER_SYNTAX, 'invalid filter syntax'],
  [PafErrorCode.INVALID_ARGUMENT, 'invalid argument'],
  [PafErrorCode.TRANSPORT_UNAVAILABLE, 'transport unavailable'],
  [PafErrorCode.ABORTED, 'operation aborted'],
]);

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(PafErrorCode).map(([name, code]) => [code, name]));

/** libpaf's paf_strerror(): the text for an error code, "unknown error" for anything else (including −6, as libpaf); our −7 … −9 have texts. */
export function strerror(code: number): string {
  return MESSAGES.get(code) ?? 'unknown error';
}

/** An error of the high-level API, carrying libpaf's numeric code. */
export class PafError extends Error {
  override name = 'PafError';
  /** The numeric code, e.g. PafErrorCode.PROPS_TOO_LARGE (−2). */
  readonly code: PafErrorCodeValue;
  /** The code's name in PafErrorCode, e.g. 'PROPS_TOO_LARGE'. */
  readonly codeName: keyof typeof PafErrorCode;
  constructor(code: PafErrorCodeValue, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? strerror(code) : `${strerror(code)}: ${detail}`, options);
    this.code = code;
    this.codeName = NAMES.get(code) as keyof typeof PafErrorCode;
  }
}
