/**
 * A resumable change stream of one twin, for edges that push (SSE, WebSocket). It subscribes at a
 * consistent cut inside the actor, replays what the client missed from history, then forwards live
 * notices, so the client sees every version once, in order, with no gap, even when changes race
 * with the subscription. A client resuming from a version older than history gets a fresh
 * snapshot marked `resync`.
 */
import type { ChangeEvent, TwinState } from '../src/twin/types.ts';
import type { TwinNotice } from './event-bus.ts';
import type { TwinService } from './twins.ts';

export type StreamItem =
  | { type: 'snapshot'; state: TwinState; resync: boolean }
  | { type: 'change'; event: ChangeEvent; state?: TwinState }
  | { type: 'deleted'; twin: string };

export interface StreamOptions {
  /** Resume after this version; undefined starts with a snapshot. */
  since?: number;
  /**
   * The incarnation `since` belongs to (see `incarnation()`): a twin deleted and recreated reuses
   * versions, so a resume against another incarnation gets a resync snapshot instead of replay.
   */
  incarnation?: string;
  /** Live notices buffered while history replays, before the stream gives up (`onOverflow`). */
  maxBuffered?: number;
  onOverflow?: () => void;
  /** Called with the twin at the cut, before any item (e.g. to learn its incarnation). */
  onStart?: (state: TwinState) => void;
}

/** Identifies one life of a twin id: its creation time, compactly. */
export function incarnation(state: TwinState): string {
  return Date.parse(state.createdAt).toString(36);
}

/** Opens the stream; `sink` gets items in order. Resolves to the unsubscribe function. */
export async function openTwinStream(twins: TwinService, id: string, opts: StreamOptions, sink: (item: StreamItem) => void): Promise<() => void> {
  const maxBuffered = opts.maxBuffered ?? 10_000;
  let buffer: TwinNotice[] | null = [];
  let overflowed = false;
  const toItem = (n: TwinNotice): StreamItem => (n.type === 'change' ? { type: 'change', event: n.event, state: n.state } : n);
  const { state, unsubscribe } = await twins.subscribe(id, (notice) => {
    if (buffer === null) { sink(toItem(notice)); return; }
    if (buffer.length >= maxBuffered) {
      if (!overflowed) { overflowed = true; opts.onOverflow?.(); }
      return;
    }
    buffer.push(notice);
  });
  try {
    opts.onStart?.(state);
    const since = opts.since;
    if (since !== undefined && opts.incarnation !== undefined && opts.incarnation !== incarnation(state)) {
      sink({ type: 'snapshot', state, resync: true });
    } else if (since === undefined) {
      sink({ type: 'snapshot', state, resync: false });
    } else if (since < state.version) {
      const { events: missed } = await twins.history(id, since, state.version - since);
      const complete = missed.length === state.version - since && missed[0]?.version === since + 1;
      if (complete) for (const event of missed) sink({ type: 'change', event });
      else sink({ type: 'snapshot', state, resync: true });
    } else if (since > state.version) {
      // The client knows a future version: the twin was recreated or the client is confused.
      sink({ type: 'snapshot', state, resync: true });
    }
    const pending = buffer;
    buffer = null;
    for (const notice of pending) sink(toItem(notice));
  } catch (err) {
    unsubscribe();
    throw err;
  }
  return unsubscribe;
}
