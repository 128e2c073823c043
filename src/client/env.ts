// The client library's environment variables (docs/client-library.md §4).
// Every value can also be given as an option; the environment is only the
// default. Numbers must parse completely as a float, otherwise the
// default applies.

/** The directory libpaf reads domain files from. */
export const DEFAULT_DOMAINS_DIR = '/run/paf/domains.d';

/** Settings of a context, in seconds where they are times. */
export interface ClientSettings {
  /** Domain file directory (PAF_DOMAINS). */
  domainsDir: string;
  /** Trace to stderr (PAF_DEBUG). */
  debug: boolean;
  /** Domain file rescan period; 0 = never (PAF_RESCAN). */
  rescan: number;
  /** First reconnect delay, before randomization (PAF_RECONNECT_MIN). */
  reconnectMin: number;
  /** Longest reconnect delay (PAF_RECONNECT_MAX). */
  reconnectMax: number;
  /** Lower bound of the client's max idle time, at least 1 (PAF_IDLE_MIN). */
  idleMin: number;
  /** Upper bound / default of the client's max idle time (PAF_IDLE_MAX). */
  idleMax: number;
}

const DEFAULTS = {
  rescan: 5,
  reconnectMin: 0.01,
  reconnectMax: 5,
  idleMin: 4,
  idleMax: 30,
  ttl: 30,
} as const;

/** The lowest idle limit libpaf accepts. */
export const IDLE_FLOOR = 1;

/** A complete decimal floating-point number, as strtod would consume all of it (no hex, inf or nan). */
const FLOAT_SYNTAX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The variable as a non-negative number, or undefined if unset or not a complete number. */
export function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || !FLOAT_SYNTAX.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** PAF_DEBUG: 1/true on, 0/false (or anything else) off. */
function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name]?.toLowerCase();
  return text === '1' || text === 'true';
}

/** Reads the settings libpaf takes from the environment at attach time. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const idleMin = Math.max(IDLE_FLOOR, envNumber(env, 'PAF_IDLE_MIN') ?? DEFAULTS.idleMin);
  const reconnectMin = envNumber(env, 'PAF_RECONNECT_MIN') ?? DEFAULTS.reconnectMin;
  return {
    domainsDir: env.PAF_DOMAINS ?? DEFAULT_DOMAINS_DIR,
    debug: envFlag(env, 'PAF_DEBUG'),
    rescan: envNumber(env, 'PAF_RESCAN') ?? DEFAULTS.rescan,
    reconnectMin,
    reconnectMax: Math.max(reconnectMin, envNumber(env, 'PAF_RECONNECT_MAX') ?? DEFAULTS.reconnectMax),
    idleMin,
    idleMax: Math.max(idleMin, envNumber(env, 'PAF_IDLE_MAX') ?? DEFAULTS.idleMax),
  };
}

/**
 * libpaf's TTL rule, applied to PAF_TTL at each publish and to explicit
 * TTLs alike: a value strictly between 0 and 1 becomes 1, anything else
 * is truncated to an integer.
 */
export function normalizeTtl(ttl: number): number {
  return ttl > 0 && ttl < 1 ? 1 : Math.trunc(ttl);
}

/** The TTL of a newly published service from PAF_TTL (default 30 s). */
export function envTtl(env: NodeJS.ProcessEnv = process.env): number {
  return normalizeTtl(envNumber(env, 'PAF_TTL') ?? DEFAULTS.ttl);
}
