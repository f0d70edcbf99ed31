/**
 * A change event as JSON text, serialized once per event object. Fan-out edges (SSE streams,
 * WebSocket subscribers) send the same event to many peers; the WeakMap lives exactly as long as
 * the event does.
 */
import type { ChangeEvent } from './types.ts';

const cache = new WeakMap<ChangeEvent, string>();

export function eventJson(event: ChangeEvent): string {
  let json = cache.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    cache.set(event, json);
  }
  return json;
}
