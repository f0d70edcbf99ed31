/**
 * The JSON body of a twin, encoded once per committed state: a GET of an unchanged twin reuses
 * the text. Only the connection (which changes with time and device contact, not with the
 * version) is encoded per request, between the cached text before and after it.
 */
import { toPublicTwin } from '../../src/twin/index.ts';
import type { Connection, TwinState } from '../../src/twin/types.ts';

interface Encoded { head: string; tail: string }

/**
 * Keyed by the state object: every commit adopts a new one, so an entry is never stale and goes
 * when its state does (the next commit, passivation).
 */
const encoded = new WeakMap<TwinState, Encoded>();

const CONNECTION = ',"connection":';
// Fields after the connection are timestamps: no user data there can contain these markers.
const AFTER_CONNECTION = ',"createdAt":';

/** `JSON.stringify(toPublicTwin(state, connection))`, from the cache when `state` was encoded before. */
export function twinJson(state: TwinState, connection: Connection): string {
  const hit = encoded.get(state);
  if (hit !== undefined) return hit.head + JSON.stringify(connection) + hit.tail;
  const json = JSON.stringify(toPublicTwin(state, connection));
  const at = json.lastIndexOf(CONNECTION) + CONNECTION.length;
  encoded.set(state, { head: json.slice(0, at), tail: json.slice(json.indexOf(AFTER_CONNECTION, at)) });
  return json;
}
