/**
 * @module
 * Retry delays: exponential, capped, with "full jitter" (a uniform draw below the exponential
 * bound, as in the AWS architecture note on backoff) so many twins failing together do not retry
 * in lockstep. A target's `Retry-After` wins when longer.
 */

export interface BackoffPolicy { baseMs: number; capMs: number }

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 30_000 };

/** The delay before retry number `attempt` (1 for the first retry); `random` in [0, 1). */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: number, retryAfterMs?: number): number {
  const bound = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  // At least half the bound: full jitter down to zero would retry a dead target at once.
  const delay = bound / 2 + (bound / 2) * random;
  return Math.max(delay, Math.min(retryAfterMs ?? 0, policy.capMs * 10));
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
