/**
 * Listings in cluster mode. A listed state comes from the store, but only the twin's owner knows
 * its device's sessions and latest contact (kept in the owner's actor, not stored), which is what
 * a single read returns (see `TwinService.get`). So each chunk of listed states is sent, as ids, to
 * the owners, which answer the connection of every twin whose actor is resident there; a twin
 * with none resident has exactly its stored connection there too. A listing and a single read of
 * the same twin then agree, on whichever node they are asked.
 */
import type { Connection, TwinState } from '../src/twin/types.ts';

/**
 * States asked about at once: first 64 (the JetStream store reads twin heads 64 at a time, and a
 * page of 100 should not wait for more), then twice as many each time up to 512, so that a long
 * listing asks each owner a few times rather than once per 64 twins.
 */
const FIRST_CHUNK = 64;
const MAX_CHUNK = 512;

/**
 * Yields `states` unchanged, in order, a chunk at a time, after `remember`ing the owner's connection of each one that
 * has one (`connectionsOf` answers for the ids of a chunk).
 */
export async function* withOwnerConnections(
  states: AsyncIterable<TwinState>,
  connectionsOf: (ids: string[]) => Promise<ReadonlyMap<string, Connection>>,
  remember: (state: TwinState, connection: Connection) => void,
): AsyncIterable<TwinState> {
  let chunk: TwinState[] = [];
  let size = FIRST_CHUNK;
  const settle = async (): Promise<TwinState[]> => {
    const ready = chunk;
    chunk = [];
    size = Math.min(size * 2, MAX_CHUNK);
    const connections = await connectionsOf(ready.map((s) => s.id));
    for (const state of ready) {
      const connection = connections.get(state.id);
      if (connection !== undefined) remember(state, connection);
    }
    return ready;
  };
  for await (const state of states) {
    chunk.push(state);
    if (chunk.length >= size) yield* await settle();
  }
  if (chunk.length > 0) yield* await settle();
}
