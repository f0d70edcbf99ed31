/**
 * Token buckets per credential (CONTRACT §3). Buckets are created on first use and dropped when
 * full and idle, so memory follows the number of active credentials, not issued ones.
 */
import { DoppelError } from '../errors.ts';

export interface RateLimit { rate: number; burst: number }

export interface RateLimiter {
  /** Takes one token for `key`; throws `rate_limited` (with retryAfter seconds) when empty. */
  take(key: string, limit: RateLimit): void;
  readonly size: number;
}

export function createRateLimiter(now: () => number = () => performance.now()): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; rate: number; burst: number }>();
  let lastSweep = now();
  const sweep = (t: number) => {
    // A bucket that has refilled behaves exactly like an absent one, so it can go.
    for (const [k, b] of buckets) if (b.tokens + ((t - b.at) / 1000) * b.rate >= b.burst) buckets.delete(k);
    lastSweep = t;
  };
  return {
    take(key, { rate, burst }) {
      const t = now();
      let b = buckets.get(key);
      if (b === undefined) {
        b = { tokens: burst, at: t, rate, burst };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
        b.at = t;
      }
      if (b.tokens < 1) {
        const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / rate));
        throw new DoppelError('rate_limited', `Rate limited: over ${rate} requests/s for this credential`, { retryAfter });
      }
      b.tokens -= 1;
      if (t - lastSweep > 60_000) sweep(t);
    },
    get size() { return buckets.size; },
  };
}
