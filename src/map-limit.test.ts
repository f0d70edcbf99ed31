import { describe, expect, it } from 'vitest';
import { mapLimit } from './map-limit.ts';

describe('mapLimit', () => {
  it('returns results in input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('rejects with a failure and handles no items', async () => {
    await expect(mapLimit([1, 2], 4, async (n) => { if (n === 2) throw new Error('two'); return n; })).rejects.toThrow('two');
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
  });
});
