import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExchangeCache, IN_FLIGHT } from './exchange-cache.ts';
import type { ExchangeCacheOptions } from './exchange-cache.ts';

const A = '127.0.0.1:40000';
const B = '127.0.0.1:40001';
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/** A cache on a clock the test moves; generous bounds unless a test narrows one. */
function cache(over: Partial<ExchangeCacheOptions> = {}) {
  const clock = { now: 0 };
  const c = new ExchangeCache({ maxBytes: 1 << 20, perEndpoint: 100, lifetimeMs: 1000, now: () => clock.now, ...over });
  return { c, clock };
}

/** What one entry counts beyond its reply, read off the cache rather than copied from it. */
const ENTRY = (() => {
  const { c } = cache();
  c.begin(A, 1);
  return c.bytes;
})();

describe('ExchangeCache', () => {
  it('answers undefined for a new request, IN_FLIGHT once begun, the reply once completed', () => {
    const { c } = cache();
    expect(c.lookup(A, 7)).toBeUndefined();
    c.begin(A, 7);
    expect(c.lookup(A, 7)).toBe(IN_FLIGHT);
    const reply = bytes(12);
    c.complete(A, 7, reply);
    expect(c.lookup(A, 7)).toBe(reply);
    // The key is (endpoint, message id): the same id from another endpoint is another request.
    expect(c.lookup(B, 7)).toBeUndefined();
    expect(c.lookup(A, 8)).toBeUndefined();
    expect(c.size).toBe(1);
    expect(ENTRY).toBeGreaterThan(0);
    expect(c.bytes).toBe(ENTRY + 12);
  });

  it('forgets a request (a retransmission is then new) and accounts its bytes', () => {
    const { c } = cache();
    c.begin(A, 1);
    c.complete(A, 1, bytes(30));
    c.begin(A, 2);
    c.forget(A, 1);
    expect(c.lookup(A, 1)).toBeUndefined();
    expect(c.lookup(A, 2)).toBe(IN_FLIGHT);
    expect([c.size, c.bytes]).toEqual([1, ENTRY]);
    c.forget(A, 2);
    c.forget(A, 2); // forgetting twice, or something never seen, is harmless
    c.forget(B, 99);
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });

  it('keeps only the newest perEndpoint exchanges of an endpoint; a flood from one does not flush another', () => {
    const { c } = cache({ perEndpoint: 3 });
    c.begin(B, 500);
    c.complete(B, 500, bytes(10));
    c.begin(B, 501);
    for (let mid = 0; mid < 50; mid++) { c.begin(A, mid); c.complete(A, mid, bytes(5)); }
    for (let mid = 0; mid < 47; mid++) expect(c.lookup(A, mid), `mid ${mid}`).toBeUndefined();
    for (const mid of [47, 48, 49]) expect(c.lookup(A, mid)).toEqual(bytes(5));
    expect(c.lookup(B, 500)).toEqual(bytes(10));
    expect(c.lookup(B, 501)).toBe(IN_FLIGHT);
    expect(c.size).toBe(5);
    expect(c.bytes).toBe(5 * ENTRY + 3 * 5 + 10);
  });

  it('forgets an exchange older than lifetimeMs on lookup', () => {
    const { c, clock } = cache({ lifetimeMs: 1000 });
    c.begin(A, 1);
    c.complete(A, 1, bytes(4));
    clock.now = 1000; // exactly the lifetime: still remembered
    expect(c.lookup(A, 1)).toEqual(bytes(4));
    clock.now = 1001;
    expect(c.lookup(A, 1)).toBeUndefined();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });

  it('trims expired exchanges when new ones arrive, without a lookup', () => {
    const { c, clock } = cache({ lifetimeMs: 1000 });
    c.begin(A, 1);
    c.begin(B, 2);
    c.complete(B, 2, bytes(9));
    clock.now = 600;
    c.begin(A, 3);
    clock.now = 1500; // the first two are past their lifetime, the third is not
    c.begin(B, 4);
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(2 * ENTRY);
    expect(c.lookup(A, 3)).toBe(IN_FLIGHT);
    expect(c.lookup(B, 4)).toBe(IN_FLIGHT);
    // The boundary as on lookup: exactly lifetimeMs old stays, a millisecond more is trimmed.
    clock.now = 1600;
    c.begin(A, 5);
    expect(c.size).toBe(3);
    clock.now = 1601;
    c.begin(A, 6);
    expect(c.size).toBe(3);
    expect(c.lookup(A, 3)).toBeUndefined();
  });

  it('evicts oldest first beyond maxBytes, whatever the endpoint, and keeps its byte count exact', () => {
    const { c } = cache({ maxBytes: 3 * (ENTRY + 100) });
    c.begin(A, 1); c.complete(A, 1, bytes(100));
    c.begin(B, 2); c.complete(B, 2, bytes(100));
    c.begin(A, 3); c.complete(A, 3, bytes(100));
    expect([c.size, c.bytes]).toEqual([3, 3 * (ENTRY + 100)]);
    c.begin(B, 4);
    // ENTRY more bytes: the oldest (A/1) goes, the rest fit.
    expect(c.lookup(A, 1)).toBeUndefined();
    expect([c.size, c.bytes]).toEqual([3, 2 * (ENTRY + 100) + ENTRY]);
    const big = 2 * ENTRY + 250;
    c.complete(B, 4, bytes(big));
    // A reply that needs the room of two: B/2 and A/3 go, oldest first, and B/4 itself is kept.
    expect(c.lookup(B, 2)).toBeUndefined();
    expect(c.lookup(A, 3)).toBeUndefined();
    expect(c.lookup(B, 4)).toEqual(bytes(big));
    expect([c.size, c.bytes]).toEqual([1, ENTRY + big]);
    expect(c.bytes).toBeLessThanOrEqual(3 * (ENTRY + 100));
    c.clear();
    expect([c.size, c.bytes]).toEqual([0, 0]);
    expect(c.lookup(B, 4)).toBeUndefined();
  });

  it('does not keep a reply bigger than the whole bound', () => {
    const { c } = cache({ maxBytes: 1000 });
    c.begin(A, 1);
    c.complete(A, 1, bytes(5000));
    expect(c.lookup(A, 1)).toBeUndefined();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });

  it('bytes return to 0 once everything is forgotten', () => {
    const { c } = cache({ perEndpoint: 4, maxBytes: 20 * ENTRY });
    const live = new Set<number>();
    for (let mid = 0; mid < 30; mid++) {
      const ep = mid % 2 === 0 ? A : B;
      c.begin(ep, mid);
      if (mid % 3 !== 0) c.complete(ep, mid, bytes(mid * 7));
      live.add(mid);
    }
    for (const mid of live) c.forget(mid % 2 === 0 ? A : B, mid);
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });

  it('re-adds an exchange completed after it was evicted', () => {
    const { c } = cache({ perEndpoint: 2 });
    c.begin(A, 1);
    c.begin(A, 2);
    c.begin(A, 3); // evicts A/1 (per endpoint)
    expect(c.lookup(A, 1)).toBeUndefined();
    c.complete(A, 1, bytes(20));
    // The answer is remembered again (a retransmission gets it), as the newest of A's, so A/2 goes.
    expect(c.lookup(A, 1)).toEqual(bytes(20));
    expect(c.lookup(A, 2)).toBeUndefined();
    expect(c.lookup(A, 3)).toBe(IN_FLIGHT);
    expect([c.size, c.bytes]).toEqual([2, 2 * ENTRY + 20]);
  });

  it('replaces an exchange begun again under the same key, as the newest', () => {
    const { c, clock } = cache({ maxBytes: 2 * ENTRY + 50, lifetimeMs: 1000 });
    c.begin(A, 1);
    c.complete(A, 1, bytes(50));
    clock.now = 10;
    c.begin(B, 2);
    clock.now = 900;
    c.begin(A, 1); // the same key again: in flight, its old reply gone from the count, newest now
    expect(c.lookup(A, 1)).toBe(IN_FLIGHT);
    expect([c.size, c.bytes]).toEqual([2, 2 * ENTRY]);
    c.begin(B, 3); // over the byte bound: the oldest is B/2, not the re-begun A/1
    expect(c.lookup(B, 2)).toBeUndefined();
    expect(c.lookup(A, 1)).toBe(IN_FLIGHT);
    clock.now = 1500; // A/1 re-begun at 900 is within its lifetime, counted from the new begin
    expect(c.lookup(A, 1)).toBe(IN_FLIGHT);
  });
});

// ---- Property: any sequence of operations against a plain reference model ----

type Op =
  | { op: 'begin'; ep: number; mid: number }
  | { op: 'complete'; ep: number; mid: number; len: number }
  | { op: 'forget'; ep: number; mid: number }
  | { op: 'tick'; ms: number };

const MIDS = 8;
const EPS = ['10.0.0.1:5683', '10.0.0.2:5683', '10.0.0.3:6000'];
const key = fc.record({ ep: fc.integer({ min: 0, max: EPS.length - 1 }), mid: fc.integer({ min: 0, max: MIDS - 1 }) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: key.map((k) => ({ op: 'begin' as const, ...k })) },
  { weight: 4, arbitrary: fc.tuple(key, fc.integer({ min: 0, max: 300 })).map(([k, len]) => ({ op: 'complete' as const, ...k, len })) },
  { weight: 2, arbitrary: key.map((k) => ({ op: 'forget' as const, ...k })) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom(1, 999, 1000, 1001), fc.integer({ min: 0, max: 600 })).map((ms) => ({ op: 'tick' as const, ms })) },
);

/** The reference: a list in arrival order, each entry its endpoint, key, reply length (or in flight) and time. */
interface ModelEntry { ep: string; key: string; len: number | null; at: number }

describe('ExchangeCache (property)', () => {
  it('after any begin/complete/forget sequence: bounded, exact byte count, the model\'s entries and replies', () => {
    fc.assert(fc.property(
      fc.array(opArb, { maxLength: 120 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: ENTRY, max: 8 * ENTRY }),
      (ops, perEndpoint, maxBytes) => {
        const lifetimeMs = 1000;
        let now = 0;
        const c = new ExchangeCache({ maxBytes, perEndpoint, lifetimeMs, now: () => now });
        let model: ModelEntry[] = [];
        const replies = new Map<string, Uint8Array>();
        let admitted = 0;
        const cost = (e: ModelEntry) => ENTRY + (e.len ?? 0);
        const modelBytes = () => model.reduce((n, e) => n + cost(e), 0);
        const remove = (k: string) => { model = model.filter((e) => e.key !== k); };
        const trim = () => {
          while (model.length > 0 && (modelBytes() > maxBytes || now - model[0]!.at > lifetimeMs)) model.shift();
        };
        const put = (ep: string, k: string, len: number | null) => {
          remove(k);
          model.push({ ep, key: k, len, at: now });
          admitted++;
          const mine = model.filter((e) => e.ep === ep);
          if (mine.length > perEndpoint) remove(mine[0]!.key);
          trim();
        };

        /** The invariants asked of the cache, and its answers against the model's, after every step. */
        const check = () => {
          expect(c.size).toBe(model.length);
          expect(c.size).toBeLessThanOrEqual(admitted);
          expect(c.bytes).toBe(modelBytes());
          expect(c.bytes).toBeLessThanOrEqual(maxBytes);
          for (const ep of EPS) {
            let known = 0;
            for (let mid = 0; mid < MIDS; mid++) {
              const k = `${ep}/${mid}`;
              const e = model.find((m) => m.key === k);
              const expected = e === undefined || now - e.at > lifetimeMs ? undefined : e.len === null ? IN_FLIGHT : replies.get(k);
              const got = c.lookup(ep, mid);
              expect(got, k).toBe(expected);
              if (got !== undefined) known++;
              if (e !== undefined && expected === undefined) remove(k); // lookup forgets an expired entry
            }
            expect(known).toBeLessThanOrEqual(perEndpoint);
          }
          expect(c.size).toBe(model.length);
          expect(c.bytes).toBe(modelBytes());
        };

        for (const o of ops) {
          if (o.op === 'tick') { now += o.ms; check(); continue; }
          const ep = EPS[o.ep]!;
          const k = `${ep}/${o.mid}`;
          if (o.op === 'begin') {
            c.begin(ep, o.mid);
            put(ep, k, null);
          } else if (o.op === 'complete') {
            const reply = bytes(o.len, (o.mid * 31 + o.len) & 255);
            c.complete(ep, o.mid, reply);
            replies.set(k, reply);
            const e = model.find((m) => m.key === k);
            if (e === undefined) put(ep, k, o.len);
            else { e.len = o.len; trim(); }
          } else {
            c.forget(ep, o.mid);
            remove(k);
          }

          check();
        }
        c.clear();
        expect([c.size, c.bytes]).toEqual([0, 0]);
      },
    ), { seed: 0xcac4e, numRuns: 300 });
  });
});
