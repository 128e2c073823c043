// libpaf's error codes (docs/client-library.md §2.2) and the error type the
// high-level API throws with them.

/** libpaf's numeric error codes. */
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
} as const;

/** One of the values of PafErrorCode. */
export type PafErrorCodeValue = (typeof PafErrorCode)[keyof typeof PafErrorCode];

const MESSAGES: ReadonlyMap<number, string> = new Map([
  [PafErrorCode.GENERIC, 'generic error'],
  [PafErrorCode.PROPS_TOO_LARGE, 'properties too large'],
  [PafErrorCode.BUFFER_TOO_SMALL, 'buffer too small'],
  [PafErrorCode.FILTER_TOO_LARGE, 'filter too large'],
  [PafErrorCode.INVALID_FILTER_SYNTAX, 'invalid filter syntax'],
]);

/** libpaf's paf_strerror(): the text for an error code, "unknown error" for anything else. */
export function strerror(code: number): string {
  return MESSAGES.get(code) ?? 'unknown error';
}

/** An error of the high-level API, carrying libpaf's numeric code. */
export class PafError extends Error {
  override name = 'PafError';
  /** libpaf's code, e.g. PafErrorCode.PROPS_TOO_LARGE (−2). */
  readonly code: PafErrorCodeValue;
  constructor(code: PafErrorCodeValue, detail?: string) {
    super(detail === undefined ? strerror(code) : `${strerror(code)}: ${detail}`);
    this.code = code;
  }
}
