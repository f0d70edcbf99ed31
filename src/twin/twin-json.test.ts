import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planCreate, planPatch } from './document.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { Connection, JsonObject } from './types.ts';
import { MAX_ENTRIES, publicTwinJson } from './twin-json.ts';
import { toPublicTwin } from './views.ts';

const ctx = { now: '2026-01-01T00:00:00.000Z', via: 'http' as const, limits: DEFAULT_LIMITS };
const offline: Connection = { online: false, via: null, lastSeenAt: null };
const online: Connection = { online: true, via: 'coap', lastSeenAt: '2026-01-01T00:00:01.000Z' };

// Keys and values that look like the twin's own fields.
const key = fc.constantFrom('a', 'connection', 'createdAt', 'updatedAt', '"connection":', ',"createdAt":');
const value = fc.oneof(fc.integer(), fc.boolean(), fc.constantFrom('x', ',"connection":{}', ',"createdAt":"1"'));
const doc = fc.dictionary(key, fc.oneof(value, fc.dictionary(key, value, { maxKeys: 3 })), { maxKeys: 4 }) as fc.Arbitrary<JsonObject>;

describe('publicTwinJson', () => {
  it('publicTwinJson() encodes exactly what JSON.stringify of the public twin gives, first time and cached', () => {
    fc.assert(fc.property(doc, doc, doc, (desired, reported, tags) => {
      const created = planCreate('t-1', { desired, tags }, ctx).state;
      const state = planPatch(created, { reported }, ctx)?.state ?? created;
      for (const connection of [offline, online, offline]) {
        expect(publicTwinJson(state, connection)).toBe(JSON.stringify(toPublicTwin(state, connection)));
      }
    }));
  });

  it('publicTwinJson() of a new state after a commit shows the new version, not the cached text', () => {
    const first = planCreate('t-2', { desired: { temp: 1 } }, ctx).state;
    expect(JSON.parse(publicTwinJson(first, offline))).toMatchObject({ version: 1, desired: { temp: 1 } });
    const next = planPatch(first, { desired: { temp: 2 } }, ctx)!.state;
    expect(JSON.parse(publicTwinJson(next, offline))).toMatchObject({ version: 2, desired: { temp: 2 } });
    expect(JSON.parse(publicTwinJson(first, online))).toMatchObject({ version: 1, connection: online });
  });
});

describe('publicTwinJson memory', () => {
  it('stays correct past its bound: the oldest twins are forgotten, every answer is still exact', () => {
    const states = Array.from({ length: MAX_ENTRIES + 50 }, (_, i) => planCreate(`m-${i}`, { desired: { i } }, ctx).state);
    for (const state of states) publicTwinJson(state, offline);
    for (const state of [states[0]!, states[states.length - 1]!]) {
      expect(publicTwinJson(state, offline)).toBe(JSON.stringify(toPublicTwin(state, offline)));
      expect(publicTwinJson(state, offline)).toBe(JSON.stringify(toPublicTwin(state, offline)));
    }
  });
});
