/**
 * The change stream of every twin whose id starts with a prefix, twins created later included
 * (WebSocket prefix subscriptions). It registers its feed listener first and buffers notices
 * (`LiveBuffer`) while it lists the twins under the prefix from the store (a snapshot each, or
 * what was missed since the consumer's `since`), then flushes the buffer. A change commits to the
 * store before it is published, so every version is either in the listing or in the buffer; the
 * overlap is dropped by version (`Positions`). A twin first seen in a notice (created after the
 * listing passed its id) starts with a snapshot of the notice's state.
 */
import { catchUp, itemOf, offer } from './stream.ts';
import type { CommonStreamOptions, Sink } from './stream.ts';
import type { TwinNotice } from './change-feed.ts';
import { LiveBuffer } from './live-buffer.ts';
import { Positions } from './positions.ts';
import type { TwinService } from './twins.ts';

export interface PrefixStreamOptions extends CommonStreamOptions {
  /** Per twin, the version the consumer resumes after; named twins that are gone get `deleted`. */
  since?: ReadonlyMap<string, number>;
  /** Awaited before each listed twin is sent (backpressure: e.g. until the socket drains). */
  pace?: () => Promise<void>;
}

const DEFAULT_MAX_BUFFERED = 10_000;

/**
 * Opens the stream; `sink` gets items in order per twin. Resolves to the close function once the
 * listing is done and the stream is live; its `closer` closes it earlier. If the listing fails
 * the stream still goes live with what it buffered (close it to stop) and the error is thrown.
 *
 * @example
 * const close = await openPrefixStream(twins, 'site-a:', { since: new Map([['site-a:1', 4]]) }, send);
 */
export async function openPrefixStream(twins: TwinService, prefix: string, opts: PrefixStreamOptions, sink: Sink): Promise<() => void> {
  const positions = opts.positions ?? new Positions();
  let closed = false;
  const emit: Sink = (item) => { if (!closed) sink(item); };
  const onNotice = (notice: TwinNotice) => {
    if (closed) return;
    if (notice.type === 'change' && !positions.has(notice.event.twin)) offer(positions, { type: 'snapshot', state: notice.state, resync: false }, emit);
    else offer(positions, itemOf(notice), emit);
  };
  const live = new LiveBuffer(onNotice, opts.maxBuffered ?? DEFAULT_MAX_BUFFERED, opts.onOverflow);
  const unsubscribe = twins.feed.subscribePrefix(prefix, live.listener);
  const close = () => { closed = true; unsubscribe(); };
  opts.closer?.onClose(close);
  if (closed) return close;
  try {
    await list(twins, prefix, opts, positions, emit, () => closed);
  } finally {
    live.flush();
  }
  return close;
}

/** Sends each listed twin (snapshot or catch-up), then `deleted` for named twins that are gone. */
async function list(twins: TwinService, prefix: string, opts: PrefixStreamOptions, positions: Positions, emit: Sink, closed: () => boolean): Promise<void> {
  const since = opts.since ?? new Map<string, number>();
  const listed = new Set<string>();
  for await (const state of twins.list({ prefix })) {
    if (closed()) return;
    await opts.pace?.();
    if (closed()) return;
    const from = since.get(state.id);
    if (from === undefined) { offer(positions, { type: 'snapshot', state, resync: false }, emit); continue; }
    listed.add(state.id);
    try {
      await catchUp(twins, state, { since: from }, positions, emit);
    } catch (err) {
      // Deleted meanwhile: its `deleted` notice is in the buffer.
      if ((err as { code?: unknown }).code !== 'not_found') throw err;
    }
  }
  // Twins the consumer knew (named in `since`) that no longer exist were deleted while it was away.
  for (const [id, from] of since) {
    if (!id.startsWith(prefix) || listed.has(id) || positions.has(id)) continue;
    positions.resumeAt(id, from);
    offer(positions, { type: 'deleted', twin: id }, emit);
  }
}
