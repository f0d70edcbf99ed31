/** The console's pure helpers: the merge-patch diff behind "Save desired", and the metrics reader. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findNull, mergeDiff, numericLeaves } from '../../console/src/json.ts';
import type { JsonObject } from '../../console/src/api.ts';
import { sumByName } from '../../console/src/prometheus.ts';

/** RFC 7396 §2, the reference algorithm. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

const doc = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.oneof(
  fc.integer(), fc.string({ maxLength: 3 }), fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('x', 'y'), fc.oneof(fc.integer(), fc.boolean()), { maxKeys: 2 }),
), { maxKeys: 4 }) as fc.Arbitrary<JsonObject>;

describe('mergeDiff', () => {
  it('is a merge patch that turns the old document into the edited one', () => {
    fc.assert(fc.property(doc, doc, (from, to) => {
      expect(applyMergePatch(from, mergeDiff(from, to))).toEqual(to);
    }), { seed: 17, numRuns: 300 });
  });

  it('sends only what changed, deletions as null, arrays whole', () => {
    expect(mergeDiff({ temp: 21, mode: 'eco', s: { a: 1, b: 2 }, l: [1, 2] }, { temp: 22, s: { a: 1, b: 3 }, l: [1, 2, 3] }))
      .toEqual({ temp: 22, mode: null, s: { b: 3 }, l: [1, 2, 3] });
    expect(mergeDiff({ a: 1 }, { a: 1 })).toEqual({});
  });
});

describe('document helpers', () => {
  it('finds a null a merge patch could not store, and numeric leaves', () => {
    expect(findNull({ a: { b: null } })).toBe('a.b');
    expect(findNull({ a: [null] })).toBeNull();
    expect(numericLeaves({ t: 1, s: 'x', n: { h: 2, deep: { v: 3 } } })).toEqual([['t'], ['n', 'h'], ['n', 'deep', 'v']]);
  });
});

describe('sumByName', () => {
  it('sums a metric over its label sets and skips comments and non-numbers', () => {
    const text = [
      '# HELP doppel_http_requests_total HTTP requests', '# TYPE doppel_http_requests_total counter',
      'doppel_http_requests_total{method="GET",route="/v1/twins",status="200"} 7',
      'doppel_http_requests_total{method="PATCH",route="/v1/twins/:id",status="412"} 3',
      'doppel_actors_resident 42', 'doppel_bad NaN', 'process_start_time_seconds 1.7e9', '',
    ].join('\n');
    const sums = sumByName(text);
    expect(sums.get('doppel_http_requests_total')).toBe(10);
    expect(sums.get('doppel_actors_resident')).toBe(42);
    expect(sums.get('process_start_time_seconds')).toBe(1.7e9);
    expect(sums.has('doppel_bad')).toBe(false);
  });
});
