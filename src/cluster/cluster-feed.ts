/**
 * The change feed of a cluster node: every twin's notices come from the twin stream (each record
 * carries its events and the state after them), whichever node committed them, so a subscriber on
 * any node sees every change in version order. A local actor's `publish` is ignored: its commit
 * reaches this node through the stream like any other, exactly once and in stream order. Streams
 * (actors/stream.ts) subscribe at a cut inside the actor and drop versions they already have, so a
 * record arriving after the cut that took it into account is harmless.
 */
import { EventBus } from '../../actors/event-bus.ts';
import type { ChangeFeed, Listener, TwinNotice } from '../../actors/change-feed.ts';
import type { TwinRecord } from '../store/jetstream/index.ts';

export class ClusterFeed implements ChangeFeed {
  readonly #bus: EventBus;

  constructor(onListenerError?: (err: unknown) => void) {
    this.#bus = new EventBus(onListenerError);
  }

  subscribe(twin: string, listener: Listener): () => void { return this.#bus.subscribe(twin, listener); }

  subscribePrefix(prefix: string, listener: Listener): () => void { return this.#bus.subscribePrefix(prefix, listener); }

  listenerCount(twin: string): number { return this.#bus.listenerCount(twin); }

  /** Local commits arrive through the stream (`deliver`); publishing them here too would repeat them. */
  publish(_notice: TwinNotice): void {}

  /** One record from the twin stream: its events as change notices, a tombstone as a delete. */
  deliver(twin: string, record: TwinRecord): void {
    if (record.reset) { this.#bus.publish({ type: 'deleted', twin }); return; }
    if (record.state === null) return;
    for (const event of record.events) this.#bus.publish({ type: 'change', event, state: record.state });
  }
}
