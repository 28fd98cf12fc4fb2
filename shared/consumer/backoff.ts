/**
 * Retry delays: exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): a random whole number of seconds in [0, min(cap, base × 2^(attempt−1))].
 * Whole seconds because SQS ChangeMessageVisibility only takes integers.
 */
export interface BackoffOptions {
  baseSeconds?: number;
  capSeconds?: number;
  /** A number in [0, 1); pass a fixed function to make the delays deterministic. */
  random?: () => number;
}

/** Seconds to wait before the next attempt, given the attempt that just failed (1 = first). */
export type Backoff = (attempt: number) => number;

export const DEFAULT_BACKOFF_BASE_SECONDS = 2;
export const DEFAULT_BACKOFF_CAP_SECONDS = 300;

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const base = options.baseSeconds ?? DEFAULT_BACKOFF_BASE_SECONDS;
  const cap = options.capSeconds ?? DEFAULT_BACKOFF_CAP_SECONDS;
  const random = options.random ?? Math.random;
  return (attempt) => {
    // Clamp the exponent so a huge receive count cannot overflow to Infinity.
    const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 30);
    const ceiling = Math.min(cap, base * 2 ** exponent);
    return Math.round(random() * ceiling);
  };
}
