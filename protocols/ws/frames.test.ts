import { describe, it, expect, vi, afterEach } from 'vitest';
import { DoppelError } from '../../src/errors.ts';
import type { ChangeEvent, Connection, TwinState } from '../../src/twin/types.ts';
import { changeFrame, errorFrame, okFrame, snapshotFrame, twinFrame } from './frames.ts';

const state: TwinState = {
  id: 'a', version: 3, desired: { t: 1 }, reported: {}, delta: { t: 1 }, tags: {}, metadata: { desired: {}, reported: {} },
  pendingSince: '2026-01-01T00:00:00.000Z', lastSeenAt: null, lastSeenVia: null, tokenId: 'secret-id',
  createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
};
const offline: Connection = { online: false, via: null, lastSeenAt: null };

afterEach(() => { vi.restoreAllMocks(); });

describe('changeFrame()', () => {
  it('serializes an event once, however many subscribers it is sent to', () => {
    const event: ChangeEvent = { twin: 'a', version: 2, at: 'now', via: 'http', patch: { desired: { t: 1 } }, delta: {} };
    const stringify = vi.spyOn(JSON, 'stringify');
    const first = changeFrame(event);
    for (let i = 0; i < 1000; i++) expect(changeFrame(event)).toBe(first);
    expect(stringify).toHaveBeenCalledTimes(1);
    expect(JSON.parse(first)).toEqual({ op: 'change', event });
  });
});

describe('snapshotFrame()', () => {
  it('reuses the public twin JSON of a state while its connection is unchanged', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    const a = snapshotFrame(state, offline, false);
    // The text is kept from the state's second read on (a twin read once keeps no copy).
    expect(snapshotFrame(state, { ...offline }, false)).toBe(a);
    expect(snapshotFrame(state, { ...offline }, false)).toBe(a);
    expect(stringify).toHaveBeenCalledTimes(2);
    const online = snapshotFrame(state, { online: true, via: 'ws', lastSeenAt: 'now' }, false);
    expect(JSON.parse(online).twin.connection).toEqual({ online: true, via: 'ws', lastSeenAt: 'now' });
    expect(stringify).toHaveBeenCalledTimes(3);
  });

  it('is the public twin, never the internal fields, and marks resyncs', () => {
    const frame = JSON.parse(snapshotFrame(state, offline, true));
    expect(frame.op).toBe('snapshot');
    expect(frame.resync).toBe(true);
    expect(frame.twin).toMatchObject({ id: 'a', version: 3, sync: { inSync: false, pendingSince: state.pendingSince }, connection: offline });
    expect(JSON.stringify(frame)).not.toContain('secret-id');
    expect(JSON.parse(twinFrame('r', state, offline))).toEqual({ op: 'twin', ref: 'r', twin: frame.twin });
  });
});

describe('reply frames', () => {
  it('leave out an absent ref and echo a given one as is', () => {
    expect(JSON.parse(okFrame(undefined, 4))).toEqual({ op: 'ok', version: 4 });
    expect(JSON.parse(okFrame(7, 4, { delta: {}, clientToken: 'c' }))).toEqual({ op: 'ok', ref: 7, version: 4, delta: {}, clientToken: 'c' });
  });

  it('errorFrame hides the message of internal errors and keeps public details', () => {
    expect(JSON.parse(errorFrame('r', new Error('db path /secret')).frame)).toEqual({ op: 'error', ref: 'r', code: 'internal', message: 'Internal error' });
    const limited = new DoppelError('rate_limited', 'Too many requests', { retryAfter: 2 });
    expect(JSON.parse(errorFrame(undefined, limited, { twin: 'a' }).frame)).toEqual({
      op: 'error', code: 'rate_limited', message: 'Too many requests', details: { twin: 'a', retryAfter: 2 },
    });
  });
});
