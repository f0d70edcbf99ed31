// Listing states with their owners' connections: every state comes through unchanged and in order,
// the owners are asked in chunks of 64 ids, then twice as many each time up to 512, each answered connection is remembered for its
// state, and a consumer that stops early stops the asking too.
import { describe, expect, it } from 'vitest';
import type { Connection, TwinState } from '../src/twin/types.ts';
import { withOwnerConnections } from './owner-connections.ts';

const stateOf = (id: string) => ({ id, version: 1 }) as unknown as TwinState;
async function* states(n: number): AsyncIterable<TwinState> {
  for (let i = 0; i < n; i++) yield stateOf(`t-${String(i).padStart(3, '0')}`);
}
const online: Connection = { online: true, via: 'coap', lastSeenAt: '2026-01-01T00:00:00.000Z' };

describe('withOwnerConnections', () => {
  it('yields every state in order, asking in growing chunks and remembering each answer', async () => {
    const chunks: string[][] = [];
    const remembered = new Map<TwinState, Connection>();
    const out: TwinState[] = [];
    const ask = async (ids: string[]) => { chunks.push(ids); return new Map(ids.filter((_, i) => i % 10 === 0).map((id) => [id, online])); };
    for await (const s of withOwnerConnections(states(1300), ask, (s, c) => remembered.set(s, c))) out.push(s);
    expect(out.map((s) => s.id)).toEqual(Array.from({ length: 1300 }, (_, i) => `t-${String(i).padStart(3, '0')}`));
    expect(chunks.map((c) => c.length)).toEqual([64, 128, 256, 512, 340]);
    expect(chunks.flat()).toEqual(out.map((s) => s.id));
    expect([...remembered.keys()].map((s) => s.id)).toEqual(chunks.flatMap((c) => c.filter((_, i) => i % 10 === 0)));
    expect(remembered.get(out[0]!)).toEqual(online);
  });

  it('asks nothing for an empty listing and no further chunk once the consumer stops', async () => {
    const chunks: string[][] = [];
    const ask = async (ids: string[]) => { chunks.push(ids); return new Map<string, Connection>(); };
    for await (const _ of withOwnerConnections(states(0), ask, () => undefined)) expect.unreachable();
    expect(chunks).toEqual([]);
    for await (const s of withOwnerConnections(states(200), ask, () => undefined)) if (s.id === 't-010') break;
    expect(chunks.map((c) => c.length)).toEqual([64]);
  });
});
