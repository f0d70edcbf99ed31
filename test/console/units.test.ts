/** The console's pure helpers: the merge-patch diff behind "Save desired", the metrics reader, and the command form. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findNull, mergeDiff, numericLeaves } from '../../console/src/json.ts';
import type { JsonObject } from '../../console/src/api.ts';
import { sumByName } from '../../console/src/prometheus.ts';
import { commandBody, mergeCommand } from '../../console/src/command-form.ts';
import type { CommandDraft } from '../../console/src/command-form.ts';
import type { Command } from '../../console/src/api.ts';

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

describe('the command form', () => {
  const draft = (part: Partial<CommandDraft>): CommandDraft => ({ name: 'reboot', payload: '', mode: 'direct', timeoutS: '30', ttlSeconds: 3600, ...part });

  it('turns a draft into the request body: direct with timeoutMs, queued with ttlSeconds, payload only when given', () => {
    expect(commandBody(draft({}))).toEqual({ body: { name: 'reboot', timeoutMs: 30_000 } });
    expect(commandBody(draft({ name: ' valve.open ', payload: '{"pct": 40}', mode: 'queued', ttlSeconds: 600 })))
      .toEqual({ body: { name: 'valve.open', payload: { pct: 40 }, ttlSeconds: 600 } });
    expect(commandBody(draft({ payload: 'null' }))).toEqual({ body: { name: 'reboot', payload: null, timeoutMs: 30_000 } });
  });

  it('names the wrong field: name rule, payload not JSON, timeout out of 1–300 s', () => {
    for (const name of ['', '-x', 'a b', 'x'.repeat(65)]) expect(commandBody(draft({ name }))).toMatchObject({ field: 'name' });
    expect(commandBody(draft({ name: 'x'.repeat(64) }))).toHaveProperty('body');
    expect(commandBody(draft({ payload: '{"a":' }))).toMatchObject({ field: 'payload', problem: expect.stringContaining('not JSON') });
    for (const timeoutS of ['0', '301', '1.5', 'abc']) expect(commandBody(draft({ timeoutS }))).toMatchObject({ field: 'timeout' });
    expect(commandBody(draft({ timeoutS: '300', mode: 'queued' }))).toHaveProperty('body'); // the timeout is not used when queued
  });

  const cmd = (id: string, status: Command['status'], updatedAt = '2026-01-01T00:00:00.000Z'): Command =>
    ({ id, name: 'n', payload: null, status, createdAt: '2026-01-01T00:00:00.000Z', updatedAt });

  it('merges live status changes newest first; an ended status is never replaced', () => {
    let list = mergeCommand([], cmd('a1', 'queued'));
    list = mergeCommand(list, cmd('a3', 'queued'));
    list = mergeCommand(list, cmd('a2', 'queued'));
    expect(list.map((c) => c.id)).toEqual(['a3', 'a2', 'a1']);
    list = mergeCommand(list, cmd('a1', 'cancelled', '2026-01-01T00:00:01.000Z'));
    // A late "delivered" (sent before the cancel landed) must not reopen it.
    list = mergeCommand(list, cmd('a1', 'delivered', '2026-01-01T00:00:00.500Z'));
    expect(list.find((c) => c.id === 'a1')?.status).toBe('cancelled');
    expect(mergeCommand(list, cmd('a0', 'queued'), 3).map((c) => c.id)).toEqual(['a3', 'a2', 'a1']);
  });
});
