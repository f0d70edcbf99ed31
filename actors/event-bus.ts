/**
 * The in-process `ChangeFeed`: fan-out of twin notices to the streams of this process (SSE,
 * WebSocket, CoAP observers). Actors publish from inside their mailbox after the change is
 * durable, so every listener sees a twin's changes in version order. A throwing listener is
 * isolated: it cannot stop the others.
 */
import { noticeTwin } from './change-feed.ts';
import type { ChangeFeed, Listener, TwinNotice } from './change-feed.ts';

export type { Listener, TwinNotice };

export class EventBus implements ChangeFeed {
  readonly #byTwin = new Map<string, Set<Listener>>();
  readonly #byPrefix = new Map<string, Set<Listener>>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void = () => {}) {
    this.#onListenerError = onListenerError;
  }

  subscribe(twin: string, listener: Listener): () => void {
    return add(this.#byTwin, twin, listener);
  }

  /** Every notice for twins whose id starts with `prefix`, including twins created later. */
  subscribePrefix(prefix: string, listener: Listener): () => void {
    return add(this.#byPrefix, prefix, listener);
  }

  listenerCount(twin: string): number {
    return this.#byTwin.get(twin)?.size ?? 0;
  }

  publish(notice: TwinNotice): void {
    const twin = noticeTwin(notice);
    this.#deliver(this.#byTwin.get(twin), notice);
    for (const [prefix, set] of this.#byPrefix) if (twin.startsWith(prefix)) this.#deliver(set, notice);
  }

  #deliver(set: Set<Listener> | undefined, notice: TwinNotice): void {
    if (set === undefined) return;
    for (const listener of set) {
      try { listener(notice); } catch (err) { this.#onListenerError(err); }
    }
  }
}

function add(map: Map<string, Set<Listener>>, key: string, listener: Listener): () => void {
  let set = map.get(key);
  if (set === undefined) { set = new Set(); map.set(key, set); }
  set.add(listener);
  return () => {
    const s = map.get(key);
    if (s === undefined) return;
    s.delete(listener);
    if (s.size === 0) map.delete(key);
  };
}
