/**
 * The public twin as JSON text, encoded once per committed state and reused by every read of it
 * (HTTP GET, WebSocket snapshots and twin replies) while its connection is unchanged. The
 * connection is not in the state (it moves with device contact and time), so it is part of the key.
 */
import type { Connection, TwinState } from './types.ts';
import { toPublicTwin } from './views.ts';

interface Encoded { online: boolean; via: string | null; lastSeenAt: string | null; json: string }

/**
 * Keyed by the state object: every commit adopts a new one, so an entry is never stale, and it
 * lives exactly as long as its state does (until the next commit or passivation).
 */
const cache = new WeakMap<TwinState, Encoded>();

/**
 * `JSON.stringify(toPublicTwin(state, connection))`, from the cache when it holds this state with
 * the same connection.
 *
 * @example
 * publicTwinJson(state, { online: false, via: null, lastSeenAt: null }); // '{"id":"t-1","version":3,…}'
 */
export function publicTwinJson(state: TwinState, connection: Connection): string {
  const hit = cache.get(state);
  if (hit !== undefined && hit.online === connection.online && hit.via === connection.via && hit.lastSeenAt === connection.lastSeenAt) return hit.json;
  const json = JSON.stringify(toPublicTwin(state, connection));
  cache.set(state, { online: connection.online, via: connection.via, lastSeenAt: connection.lastSeenAt, json });
  return json;
}
