import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.ts';

describe('retryDelayMs', () => {
  it('grows exponentially and stays within [bound/2, bound], the bound capped', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (attempt, random) => {
      const bound = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1));
      const d = retryDelayMs(attempt, DEFAULT_BACKOFF, random);
      return d >= bound / 2 && d <= bound;
    }));
    expect(retryDelayMs(1, DEFAULT_BACKOFF, 0)).toBe(100);
    expect(retryDelayMs(50, DEFAULT_BACKOFF, 0.9999)).toBeLessThanOrEqual(30_000);
  });

  it('honours a longer Retry-After', () => {
    expect(retryDelayMs(1, DEFAULT_BACKOFF, 0, 5000)).toBe(5000);
    expect(retryDelayMs(1, DEFAULT_BACKOFF, 0, 10)).toBe(100);
  });
});
