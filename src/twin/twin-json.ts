/**
 * The public twin as JSON text, encoded once per committed state and reused by later reads of it
 * (HTTP GET, WebSocket snapshots and twin replies) while its connection is unchanged. The
 * connection is not in the state (it moves with device contact and time), so it is part of the key.
 *
 * Memory: the text is kept only from a state's second read on, and for at most `MAX_ENTRIES`
 * twins (oldest first out). A twin read once (a listing, a scan, one activation) keeps no copy, so
 * a server with a million resident twins does not hold a million encoded documents; a hot twin
 * read again and again is encoded once per commit.
 */
import type { Connection, TwinState } from './types.ts';
import { toPublicTwin } from './views.ts';

interface Entry { state: TwinState; online: boolean; via: string | null; lastSeenAt: string | null; json: string | null }

/** Twins remembered at most (each a few hundred bytes with its text). */
export const MAX_ENTRIES = 16_384;
/** By twin id: an entry for an older state of the twin is replaced, never served (`state` must match). */
const entries = new Map<string, Entry>();

/**
 * `JSON.stringify(toPublicTwin(state, connection))`, from the cache when it holds this state with
 * the same connection.
 *
 * @example
 * publicTwinJson(state, { online: false, via: null, lastSeenAt: null }); // '{"id":"t-1","version":3,…}'
 */
export function publicTwinJson(state: TwinState, connection: Connection): string {
  const entry = entries.get(state.id);
  if (entry !== undefined && entry.state === state && entry.online === connection.online && entry.via === connection.via && entry.lastSeenAt === connection.lastSeenAt) {
    return entry.json ??= JSON.stringify(toPublicTwin(state, connection));
  }
  const json = JSON.stringify(toPublicTwin(state, connection));
  // First read of this state (or with another connection): remember that it was read, not its text.
  if (entry !== undefined) entries.delete(state.id);
  entries.set(state.id, { state, online: connection.online, via: connection.via, lastSeenAt: connection.lastSeenAt, json: null });
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  return json;
}
