/**
 * @module
 * What the store contract's topic files share: the store under test, sample records and small
 * reading helpers. Test-only.
 */
import type { ChangeEvent, JsonObject, TwinState } from '../../twin/types.ts';
import type { StoredCredential, TwinStore } from '../types.ts';

/** The open store of the current test, set by the contract's `beforeEach` before any topic's. */
export interface StoreUnderTest {
  store: TwinStore;
}

export const T0 = '2026-11-23T10:00:00.000Z';

/** A minimal valid twin, with `over` laid on top. */
export function sampleTwin(id: string, over: Partial<TwinState> = {}): TwinState {
  return {
    id, version: 1, desired: {}, reported: {}, delta: {}, tags: {},
    metadata: { desired: {}, reported: {} },
    pendingSince: null, lastSeenAt: null, lastSeenVia: null, tokenId: null,
    createdAt: T0, updatedAt: T0, ...over,
  };
}

export function sampleEvent(twin: string, version: number, over: Partial<ChangeEvent> = {}): ChangeEvent {
  return { twin, version, at: T0, via: 'http', patch: { desired: { v: version } }, delta: {}, ...over };
}

/** Nested, unicode-laden documents of the kinds twins hold, including the awkward numbers. */
export function richDocument(): JsonObject {
  let deep: JsonObject = { leaf: 'bottom' };
  for (let i = 0; i < 9; i++) deep = { [`level${i}`]: deep };
  return {
    'température': 19.5,
    emoji: '🌡️ 温度 ✓',
    nul: 'a\u0000b',
    empty: '',
    numbers: [0, -3, 0.1, 1e-7, 2 ** 53 - 1, -(2 ** 40), 1e21, 4294967296],
    flags: [true, false, null],
    nested: { a: { b: [{ c: 'd' }, [], {}] }, 'ключ': { '键': 'значение' } },
    deep,
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export async function ids(store: TwinStore, opts: { prefix?: string; after?: string; limit?: number }): Promise<string[]> {
  return (await collect(store.listTwins(opts))).map((t) => t.id);
}

export const device = (id: string, twin: string): StoredCredential => ({ kind: 'device', id, twin, hash: `hash-${id}`, createdAt: T0 });
export const apiKey = (id: string): StoredCredential => ({
  kind: 'key', id, name: 'Ünïcode key 🔑', scopes: ['twins:read', 'twins:write'], prefix: 'site-a:', hash: `hash-${id}`, createdAt: T0,
});
