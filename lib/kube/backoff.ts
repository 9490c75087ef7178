// The one retry delay of the runtime and of everything built on it: capped
// exponential growth, with jitter so that processes (or keys) that failed
// together do not all come back at the same instant.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay is longer than this, jitter included. */
  maxMs: number;
  /** Spread as a fraction of the delay: 0.2 gives ±20 %. Default 0.2; 0 for exact delays. */
  jitter?: number;
}

/** Delay before retry number `failures` (1-based): base·2^(n-1), capped, spread by ±jitter. */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const jitter = policy.jitter ?? 0.2;
  // Past 2^30 the cap wins anyway; bounding the exponent keeps the number finite.
  const exponential = policy.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const capped = Math.min(exponential, policy.maxMs);
  const spread = jitter === 0 ? capped : capped * (1 - jitter + 2 * jitter * random());
  return Math.round(Math.min(spread, policy.maxMs));
}
