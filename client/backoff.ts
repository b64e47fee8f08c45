/**
 * Reconnection delays (spec §19): exponential with a cap, plus jitter so that
 * a gateway restart is not met by every device at the same instant.
 *
 *   delay = min(base × 2^attempt, max) + random(0, delay × jitter)
 */
export interface BackoffOptions {
  /** First delay (attempt 0). */
  baseMs: number;
  /** Cap on the exponential part. */
  maxMs: number;
  /** Extra random delay, as a fraction of the capped delay. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 30_000, jitter: 0.5 };

/** `random` returns a number in [0, 1), like Math.random; injected so tests can pin it. */
export function backoffDelay(attempt: number, random: () => number = Math.random, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  // 2^attempt overflows to Infinity for large attempts; min() still caps it.
  const exp = Math.min(opts.baseMs * 2 ** Math.max(0, attempt), opts.maxMs);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(exp + r * exp * opts.jitter);
}
