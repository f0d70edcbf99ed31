/**
 * The subscriptions of one app connection: by twin id (one `openTwinStream` each, a consistent cut
 * inside the twin's actor) and by id prefix (one bus listener, including twins created later). Both
 * deliver through the connection's `Feeds`, which drops versions already delivered, so overlapping
 * subscriptions never duplicate a version.
 *
 * A prefix subscription registers its bus listener first and buffers notices while it lists the
 * twins under the prefix from the store (snapshot each, or replay from history for `since`), then
 * flushes the buffer. A change commits to the store before it is published, so every version is
 * either in the listing or in the buffer; the overlap is skipped by version. A twin first seen in a
 * notice (created after the listing passed its id) starts with a snapshot of the notice's state.
 */
import { openTwinStream } from '../../actors/index.ts';
import type { StreamItem, TwinNotice, TwinService } from '../../actors/index.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Gauge } from '../../src/metrics/index.ts';
import type { TwinState } from '../../src/twin/types.ts';
import type { Outbox } from './backlog.ts';
import type { Feeds } from './feeds.ts';
import { deletedFrame } from './frames.ts';

/** Twins opened at once by one subscribe request (each activates an actor and may read history). */
const OPEN_CONCURRENCY = 32;
/** Live notices a subscription holds while its snapshots or replay are still being sent. */
const MAX_BUFFERED = 10_000;

interface IdSubscription { unsubscribe: (() => void) | null; dropped: boolean }
interface PrefixSubscription { unsubscribe: () => void; buffer: TwinNotice[] | null }

export interface SubscriptionDeps {
  twins: TwinService;
  outbox: Outbox;
  feeds: Feeds;
  maxSubscriptions: number;
  /** `doppel_ws_subscriptions`, shared by all connections. */
  gauge: Gauge;
}

export class Subscriptions {
  readonly #ids = new Map<string, IdSubscription>();
  readonly #prefixes = new Map<string, PrefixSubscription>();
  readonly #deps: SubscriptionDeps;
  #disposed = false;

  constructor(deps: SubscriptionDeps) { this.#deps = deps; }

  /** Id subscriptions plus prefix subscriptions: what `maxSubscriptions` bounds. */
  get size(): number { return this.#ids.size + this.#prefixes.size; }

  /**
   * Throws unless `added` more subscriptions fit under the cap. Refused as `invalid_request`: the
   * request asks for more than a connection may hold, and retrying it unchanged will not help
   * (unlike `rate_limited`); nothing is subscribed.
   */
  checkCapacity(added: number): void {
    const max = this.#deps.maxSubscriptions;
    if (this.size + added > max) {
      throw new DoppelError('invalid_request', `Too many subscriptions: the limit is ${max} per connection (${this.size} held, ${added} more asked)`,
        { details: { limit: max, held: this.size, asked: added } });
    }
  }

  hasPrefix(prefix: string): boolean { return this.#prefixes.has(prefix); }

  /** Ids from `ids` that are not subscribed yet. */
  fresh(ids: readonly string[]): string[] {
    return [...new Set(ids)].filter((id) => !this.#ids.has(id));
  }

  /**
   * Subscribes to each twin (already validated, authorized and counted): a snapshot, or the events
   * after `since`, then live changes. Resolves to the twins that could not be subscribed (e.g.
   * `not_found`); the others stay subscribed.
   */
  async addIds(ids: readonly string[], since: ReadonlyMap<string, number>): Promise<{ twin: string; error: unknown }[]> {
    const failures: { twin: string; error: unknown }[] = [];
    const opening: [string, IdSubscription][] = [];
    for (const id of ids) {
      if (this.#ids.has(id)) continue;
      const sub: IdSubscription = { unsubscribe: null, dropped: false };
      this.#ids.set(id, sub);
      this.#deps.gauge.inc();
      opening.push([id, sub]);
    }
    await forEachLimited(opening, OPEN_CONCURRENCY, async ([id, sub]) => {
      await this.#deps.outbox.room();
      if (sub.dropped || this.#disposed) return;
      const from = since.get(id);
      try {
        const unsubscribe = await openTwinStream(this.#deps.twins, id, {
          ...(from === undefined ? {} : { since: from }),
          maxBuffered: MAX_BUFFERED,
          onOverflow: () => this.#deps.outbox.slowConsumer(),
        }, (item) => this.#onIdItem(id, sub, item));
        if (sub.dropped || this.#disposed) unsubscribe();
        else sub.unsubscribe = unsubscribe;
        if (from !== undefined) this.#deps.feeds.resumeAt(id, from);
      } catch (error) {
        this.#dropId(id, sub);
        failures.push({ twin: id, error });
      }
    });
    return failures;
  }

  #onIdItem(id: string, sub: IdSubscription, item: StreamItem): void {
    if (sub.dropped) return;
    const { feeds } = this.#deps;
    if (item.type === 'snapshot') feeds.snapshot(item.state, item.resync);
    else if (item.type === 'change') feeds.change(item.event);
    else {
      // The twin is gone: tell the client once and end this subscription (a recreated twin is a
      // new twin; subscribe again, or use a prefix subscription to follow recreations).
      feeds.deleted(id);
      this.#dropId(id, sub);
    }
  }

  #dropId(id: string, sub: IdSubscription): void {
    if (sub.dropped) return;
    sub.dropped = true;
    sub.unsubscribe?.();
    if (this.#ids.get(id) === sub) {
      this.#ids.delete(id);
      this.#deps.gauge.dec();
    }
  }

  /** Subscribes to every twin whose id starts with `prefix`, now and later (already authorized and counted). */
  async addPrefix(prefix: string, since: ReadonlyMap<string, number>): Promise<void> {
    if (this.#prefixes.has(prefix)) return;
    const { twins, outbox, feeds } = this.#deps;
    const sub: PrefixSubscription = { unsubscribe: () => {}, buffer: [] };
    sub.unsubscribe = twins.bus.subscribePrefix(prefix, (notice) => {
      if (sub.buffer === null) this.#onPrefixNotice(notice);
      else if (sub.buffer.length < MAX_BUFFERED) sub.buffer.push(notice);
      else outbox.slowConsumer();
    });
    this.#prefixes.set(prefix, sub);
    this.#deps.gauge.inc();
    const listed = new Set<string>();
    try {
      for await (const state of twins.list({ prefix })) {
        if (this.#disposed || this.#prefixes.get(prefix) !== sub) return;
        await outbox.room();
        const from = since.get(state.id);
        if (from === undefined) { feeds.snapshot(state, false); continue; }
        listed.add(state.id);
        await this.#replay(state, from);
      }
      // Twins the client knew (named in `since`) that no longer exist were deleted while it was away.
      for (const id of since.keys()) if (id.startsWith(prefix) && !listed.has(id) && !feeds.has(id)) outbox.send(deletedFrame(id));
    } finally {
      const buffered = sub.buffer ?? [];
      sub.buffer = null;
      if (!this.#disposed && this.#prefixes.get(prefix) === sub) for (const notice of buffered) this.#onPrefixNotice(notice);
    }
  }

  /** Sends what the client missed of a listed twin since `from`, or a resync snapshot. */
  async #replay(state: TwinState, from: number): Promise<void> {
    const { twins, feeds } = this.#deps;
    if (from === state.version) { feeds.resumeAt(state.id, from); return; }
    // A version the twin never had: it was recreated, or the client is confused.
    if (from > state.version) { feeds.snapshot(state, true); return; }
    let events;
    try {
      ({ events } = await twins.history(state.id, from, state.version - from));
    } catch (err) {
      // Deleted meanwhile: its `deleted` notice is in the buffer.
      if ((err as { code?: unknown }).code === 'not_found') return;
      throw err;
    }
    const complete = events.length === state.version - from && events[0]?.version === from + 1;
    if (complete) for (const event of events) feeds.change(event);
    else feeds.snapshot(state, true);
  }

  #onPrefixNotice(notice: TwinNotice): void {
    const { feeds } = this.#deps;
    if (notice.type === 'deleted') { feeds.deleted(notice.twin); return; }
    if (feeds.has(notice.event.twin)) feeds.change(notice.event);
    else feeds.snapshot(notice.state, false);
  }

  /** Ends the id subscriptions among `ids`; unknown ones are ignored. */
  removeIds(ids: readonly string[]): void {
    for (const id of ids) {
      const sub = this.#ids.get(id);
      if (sub === undefined) continue;
      this.#dropId(id, sub);
      if (!this.#coveredByPrefix(id)) this.#deps.feeds.forget(id);
    }
  }

  removePrefix(prefix: string): void {
    const sub = this.#prefixes.get(prefix);
    if (sub === undefined) return;
    sub.unsubscribe();
    this.#prefixes.delete(prefix);
    this.#deps.gauge.dec();
    this.#deps.feeds.forgetWhere((id) => id.startsWith(prefix) && !this.#ids.has(id) && !this.#coveredByPrefix(id));
  }

  #coveredByPrefix(id: string): boolean {
    for (const prefix of this.#prefixes.keys()) if (id.startsWith(prefix)) return true;
    return false;
  }

  /** The connection is gone: every listener is removed at once. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const [id, sub] of this.#ids) this.#dropId(id, sub);
    for (const prefix of [...this.#prefixes.keys()]) {
      this.#prefixes.get(prefix)!.unsubscribe();
      this.#prefixes.delete(prefix);
      this.#deps.gauge.dec();
    }
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
