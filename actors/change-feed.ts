/**
 * The seam between twin actors and everything that follows their changes. An actor publishes a
 * notice once its change is durable; streams (stream.ts, prefix-stream.ts) subscribe. Today the
 * feed is the in-process `EventBus`; a cluster feed (notices from other nodes, e.g. over NATS)
 * implements the same interface. What a feed must guarantee: a twin's notices in version order;
 * across twins, any order. Streams drop versions a consumer already has (`Positions`), so a feed
 * may also redeliver.
 */
import type { ChangeEvent, TwinState } from '../src/twin/types.ts';

export type TwinNotice =
  | { type: 'change'; event: ChangeEvent; state: TwinState }
  | { type: 'deleted'; twin: string };

export type Listener = (notice: TwinNotice) => void;

export interface ChangeFeed {
  /** Every notice of one twin, from now on. Returns the unsubscribe function. */
  subscribe(twin: string, listener: Listener): () => void;
  /** Every notice of twins whose id starts with `prefix`, including twins created later. */
  subscribePrefix(prefix: string, listener: Listener): () => void;
  /** Called by the twin's actor, inside its mailbox, after the change is committed. */
  publish(notice: TwinNotice): void;
  /** Listeners of one twin (not counting prefix listeners): for tests and leak checks. */
  listenerCount(twin: string): number;
}

/** The twin a notice is about. */
export function noticeTwin(notice: TwinNotice): string {
  return notice.type === 'change' ? notice.event.twin : notice.twin;
}
