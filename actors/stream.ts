/**
 * Change streams of one twin, the API every edge that pushes consumes (SSE, WebSocket, CoAP
 * Observe). A stream subscribes at a consistent cut inside the twin's actor, replays what the
 * consumer missed from history, then forwards live notices, so the consumer sees every version
 * once, in order, with no gap, even when changes race with the subscription. A consumer resuming
 * from a version older than history, or from another incarnation of the twin, gets a fresh
 * snapshot marked `resync`. With `attach`, the stream also holds a device attachment: the twin
 * stays online and resident while it is open.
 */
import type { ChangeEvent, TwinState, Via } from '../src/twin/types.ts';
import type { TwinNotice } from './change-feed.ts';
import { LiveBuffer } from './live-buffer.ts';
import { Positions } from './positions.ts';
import type { StreamCloser } from './stream-closer.ts';
import type { TwinService } from './twins.ts';

export type StreamItem =
  | { type: 'snapshot'; state: TwinState; resync: boolean }
  | { type: 'change'; event: ChangeEvent; state?: TwinState }
  | { type: 'deleted'; twin: string };

export type Sink = (item: StreamItem) => void;

/** Options every stream takes. */
export interface CommonStreamOptions {
  /** Live notices buffered while the stream catches up, before it gives up (`onOverflow`). */
  maxBuffered?: number;
  onOverflow?: () => void;
  /** What the consumer already has; share one across overlapping streams of one consumer. */
  positions?: Positions;
  /** Closes the stream (also while it is still opening: it then resolves without delivering more). */
  closer?: StreamCloser;
}

export interface StreamOptions extends CommonStreamOptions {
  /** Resume after this version; undefined starts with a snapshot. */
  since?: number;
  /**
   * The incarnation `since` belongs to (see `incarnation()`): a twin deleted and recreated reuses
   * versions, so a resume against another incarnation gets a resync snapshot instead of replay.
   */
  incarnation?: string;
  /** Called with the twin at the cut, before any item (e.g. to learn its incarnation). */
  onStart?: (state: TwinState) => void;
  /** The twin was deleted: the stream delivers nothing more (its `deleted` item, if new, came first). */
  onEnd?: () => void;
  /** Hold a device attachment over this edge while the stream is open (Observe, device sessions). */
  attach?: Via;
}

const DEFAULT_MAX_BUFFERED = 10_000;

/** Identifies one life of a twin id: its creation time, compactly. */
export function incarnation(state: TwinState): string {
  return Date.parse(state.createdAt).toString(36);
}

/** Passes `item` to `sink` if it is new to `positions`. */
export function offer(positions: Positions, item: StreamItem, sink: Sink): void {
  const fresh = item.type === 'snapshot' ? positions.takeSnapshot(item.state)
    : item.type === 'change' ? positions.takeChange(item.event) : positions.takeDeleted(item.twin);
  if (fresh) sink(item);
}

export function itemOf(notice: TwinNotice): StreamItem {
  return notice.type === 'change' ? { type: 'change', event: notice.event, state: notice.state } : notice;
}

/**
 * What a consumer resuming at `since` missed of the twin now at `state`: nothing, the events
 * from history, or a snapshot (`resync` unless it had no starting point). Each item is offered
 * to `positions` and reaches `sink` only if new.
 */
export async function catchUp(twins: TwinService, state: TwinState, resume: { since?: number; incarnation?: string }, positions: Positions, sink: Sink): Promise<void> {
  const { since } = resume;
  if (since === undefined) { offer(positions, { type: 'snapshot', state, resync: false }, sink); return; }
  if (resume.incarnation !== undefined && resume.incarnation !== incarnation(state)) { offer(positions, { type: 'snapshot', state, resync: true }, sink); return; }
  if (since === state.version) { positions.resumeAt(state.id, since); return; }
  // A version the twin never had: it was recreated, or the consumer is confused.
  if (since > state.version) { offer(positions, { type: 'snapshot', state, resync: true }, sink); return; }
  const { events } = await twins.history(state.id, since, state.version - since);
  const complete = events.length === state.version - since && events[0]?.version === since + 1;
  if (!complete) { offer(positions, { type: 'snapshot', state, resync: true }, sink); return; }
  for (const event of events) offer(positions, { type: 'change', event }, sink);
}

/**
 * Opens the stream of twin `id`; `sink` gets items in order. Resolves to the close function once
 * the stream is live. Rejects (holding nothing) when the twin does not exist or history fails.
 *
 * @example
 * const close = await openTwinStream(twins, 'thermo-42', { since: 17 }, (item) => send(item));
 */
export async function openTwinStream(twins: TwinService, id: string, opts: StreamOptions, sink: Sink): Promise<() => void> {
  const stream = new TwinStream(opts, sink);
  const detach = opts.attach === undefined ? NOTHING : await twins.attachDevice(id, opts.attach);
  let state: TwinState;
  try {
    const sub = await twins.subscribe(id, stream.live.listener);
    state = sub.state;
    stream.hold(sub.unsubscribe, detach);
  } catch (err) {
    detach();
    throw err;
  }
  opts.closer?.onClose(stream.close);
  if (stream.ended) return stream.close;
  try {
    opts.onStart?.(state);
    await catchUp(twins, state, opts, stream.positions, stream.emit);
    stream.live.flush();
  } catch (err) {
    stream.close();
    throw err;
  }
  return stream.close;
}

const NOTHING = (): void => {};

/**
 * What an open twin stream holds. A class, not closures made inside `openTwinStream`: closures
 * made across an `await` keep the async function's frame alive, about 1 KB more per stream.
 */
class TwinStream {
  readonly positions: Positions;
  readonly live: LiveBuffer;
  ended = false;
  readonly #sink: Sink;
  readonly #onEnd: (() => void) | undefined;
  #unsubscribe: () => void = NOTHING;
  #detach: () => void = NOTHING;

  constructor(opts: StreamOptions, sink: Sink) {
    this.positions = opts.positions ?? new Positions();
    this.#sink = sink;
    this.#onEnd = opts.onEnd;
    this.live = new LiveBuffer(this.#onNotice, opts.maxBuffered ?? DEFAULT_MAX_BUFFERED, opts.onOverflow);
  }

  /** Takes the subscription and the device attachment, released once by `close`. */
  hold(unsubscribe: () => void, detach: () => void): void {
    this.#unsubscribe = unsubscribe;
    this.#detach = detach;
  }

  readonly emit: Sink = (item) => { if (!this.ended) this.#sink(item); };

  readonly close = (): void => {
    this.ended = true;
    const unsubscribe = this.#unsubscribe;
    const detach = this.#detach;
    this.#unsubscribe = NOTHING;
    this.#detach = NOTHING;
    unsubscribe();
    detach();
  };

  readonly #onNotice = (notice: TwinNotice): void => {
    if (this.ended) return;
    offer(this.positions, itemOf(notice), this.emit);
    if (notice.type === 'deleted') { this.ended = true; this.#onEnd?.(); }
  };
}
