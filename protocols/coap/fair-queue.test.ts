import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.ts';

const settle = () => new Promise((r) => setImmediate(() => setImmediate(r)));

describe('FairQueue', () => {
  it('serves sources round-robin, each in its own order', async () => {
    const seen: string[] = [];
    const q = new FairQueue<string>((item) => seen.push(item), { maxPerSource: 100, maxTotal: 1000, budgetMs: 50 });
    for (let i = 0; i < 5; i++) q.push('flood', `f${i}`);
    q.push('victim', 'v0');
    await settle();
    // The victim's one request goes second, not sixth.
    expect(seen).toEqual(['f0', 'v0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('yields to the event loop once its budget is spent, and finishes later', async () => {
    let n = 0;
    const q = new FairQueue<number>(() => { n++; const until = performance.now() + 2; while (performance.now() < until) { /* work */ } }, { maxPerSource: 100, maxTotal: 1000, budgetMs: 1 });
    for (let i = 0; i < 10; i++) q.push('a', i);
    await new Promise((r) => setImmediate(r));
    expect(n).toBeLessThan(10);
    while (q.size > 0) await new Promise((r) => setImmediate(r));
    expect(n).toBe(10);
  });

  it('drops beyond its bounds, per source and in total, and counts the drops', async () => {
    const q = new FairQueue<number>(() => {}, { maxPerSource: 2, maxTotal: 3, budgetMs: 1 });
    expect([q.push('a', 1), q.push('a', 2), q.push('a', 3)]).toEqual([true, true, false]);
    expect([q.push('b', 1), q.push('c', 1)]).toEqual([true, false]);
    expect(q.dropped).toBe(2);
    await settle();
    expect(q.size).toBe(0);
    expect(q.push('a', 4)).toBe(true);
  });

  it('keeps going when a handler throws', async () => {
    const seen: number[] = [];
    const q = new FairQueue<number>((i) => { if (i === 1) throw new Error('boom'); seen.push(i); }, { maxPerSource: 10, maxTotal: 10, budgetMs: 10 });
    for (const i of [0, 1, 2]) q.push('a', i);
    await settle();
    expect(seen).toEqual([0, 2]);
  });

  it('drops everything queued on clear (shutdown) and serves nothing of it', async () => {
    const seen: number[] = [];
    const q = new FairQueue<number>((i) => seen.push(i), { maxPerSource: 10, maxTotal: 10, budgetMs: 10 });
    for (const i of [0, 1, 2]) q.push('a', i);
    q.clear();
    await settle();
    expect(seen).toEqual([]);
    expect(q.size).toBe(0);
  });
});
