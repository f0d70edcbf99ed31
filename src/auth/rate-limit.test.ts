import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { createRateLimiter } from './rate-limit.ts';

function setup() {
  const clock = { t: 0 };
  const limiter = createRateLimiter(() => clock.t);
  /** How many takes succeed in a row before the first refusal (at most `max`). */
  const takeUntilRefused = (key: string, limit: { rate: number; burst: number }, max = 10_000): number => {
    for (let n = 0; n < max; n++) {
      try { limiter.take(key, limit); } catch { return n; }
    }
    return max;
  };
  const refusal = (key: string, limit: { rate: number; burst: number }): DoppelError | null => {
    try { limiter.take(key, limit); return null; } catch (err) { return err as DoppelError; }
  };
  return { clock, limiter, takeUntilRefused, refusal };
}

describe('createRateLimiter()', () => {
  it('allows a burst, then refuses with rate_limited', () => {
    const { takeUntilRefused, refusal } = setup();
    const limit = { rate: 10, burst: 20 };
    expect(takeUntilRefused('k', limit)).toBe(20);
    const err = refusal('k', limit);
    expect(err?.code).toBe('rate_limited');
    expect(err?.message).toContain('10 requests/s');
  });

  it('refills at the rate', () => {
    const { clock, takeUntilRefused } = setup();
    const limit = { rate: 10, burst: 20 };
    takeUntilRefused('k', limit);
    clock.t += 500; // 5 tokens
    expect(takeUntilRefused('k', limit)).toBe(5);
    clock.t += 100; // 1 token
    expect(takeUntilRefused('k', limit)).toBe(1);
    clock.t += 50; // half a token: not enough
    expect(takeUntilRefused('k', limit)).toBe(0);
    clock.t += 50;
    expect(takeUntilRefused('k', limit)).toBe(1);
  });

  it('never refills beyond the burst', () => {
    const { clock, takeUntilRefused } = setup();
    const limit = { rate: 10, burst: 20 };
    takeUntilRefused('k', limit);
    clock.t += 3_600_000;
    expect(takeUntilRefused('k', limit)).toBe(20);
  });

  it('sustains the rate over time', () => {
    const { clock, limiter } = setup();
    const limit = { rate: 100, burst: 1 };
    for (let i = 0; i < 1000; i++) {
      limiter.take('k', limit); // one every 10 ms is exactly the rate
      clock.t += 10;
    }
  });

  it('answers retryAfter of at least one second', () => {
    const { clock, takeUntilRefused, refusal } = setup();
    const fast = { rate: 1000, burst: 5 };
    takeUntilRefused('fast', fast);
    expect(refusal('fast', fast)?.retryAfter).toBe(1);
    const slow = { rate: 0.1, burst: 1 }; // one request per 10 s
    takeUntilRefused('slow', slow);
    expect(refusal('slow', slow)?.retryAfter).toBe(10);
    clock.t += 5000;
    expect(refusal('slow', slow)?.retryAfter).toBe(5);
    clock.t += 4999;
    expect(refusal('slow', slow)?.retryAfter).toBe(1);
  });

  it('keeps independent buckets per key', () => {
    const { takeUntilRefused } = setup();
    const limit = { rate: 1, burst: 3 };
    expect(takeUntilRefused('a', limit)).toBe(3);
    expect(takeUntilRefused('b', limit)).toBe(3);
    expect(takeUntilRefused('a', limit)).toBe(0);
  });

  it('a refused take costs nothing', () => {
    const { clock, takeUntilRefused } = setup();
    const limit = { rate: 1, burst: 1 };
    takeUntilRefused('k', limit);
    for (let i = 0; i < 100; i++) takeUntilRefused('k', limit, 1);
    clock.t += 1000;
    expect(takeUntilRefused('k', limit)).toBe(1);
  });

  it('sweep drops refilled buckets and keeps the others', () => {
    const { clock, limiter } = setup();
    const limit = { rate: 1, burst: 100 };
    limiter.take('idle-1', limit);
    limiter.take('idle-2', limit);
    for (let i = 0; i < 500; i++) limiter.take('busy', { rate: 1, burst: 1000 }); // needs 500 s to refill
    expect(limiter.size).toBe(3);
    clock.t += 59_000;
    limiter.take('x', limit); // before the sweep interval: nothing dropped
    expect(limiter.size).toBe(4);
    clock.t += 2000;
    limiter.take('y', limit); // sweeps: idle-1, idle-2 and x have refilled, busy has not
    expect(limiter.size).toBe(2);
    // A dropped bucket behaves like a full one.
    limiter.take('idle-1', { rate: 1, burst: 2 });
    limiter.take('idle-1', { rate: 1, burst: 2 });
    expect(() => limiter.take('idle-1', { rate: 1, burst: 2 })).toThrow();
  });
});
