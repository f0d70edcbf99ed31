/**
 * @module
 * The body every target sends, `{type, event}` as JSON, made once per event: connectors handed
 * the same event object (live, from one commit) share it. Keyed by the event object and checked
 * against the event id, so an object changed in place for a later event is never sent stale.
 */
import type { OutboxEntry } from '../store/types.ts';

const bodies = new WeakMap<object, { eventId: string; body: string }>();

export function bodyOf(entry: OutboxEntry): string {
  const cached = bodies.get(entry.event);
  if (cached !== undefined && cached.eventId === entry.eventId) return cached.body;
  const body = JSON.stringify({ type: entry.type, event: entry.event });
  bodies.set(entry.event, { eventId: entry.eventId, body });
  return body;
}
