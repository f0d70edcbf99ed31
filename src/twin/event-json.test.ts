import { describe, expect, it } from 'vitest';
import { eventJson } from './event-json.ts';
import type { ChangeEvent } from './types.ts';

describe('eventJson()', () => {
  it('is the event as JSON, computed once per event object', () => {
    const event: ChangeEvent = { twin: 't', version: 2, at: '2026-11-24T00:00:00.000Z', via: 'http', patch: { desired: { a: 1 } }, delta: { a: 1 } };
    const first = eventJson(event);
    expect(JSON.parse(first)).toEqual(event);
    // A later mutation is not seen: the cache belongs to the (immutable) event object.
    (event.delta as Record<string, number>).a = 2;
    expect(eventJson(event)).toBe(first);
    expect(eventJson({ ...event })).not.toBe(first);
  });
});
