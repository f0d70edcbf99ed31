/**
 * The subscriptions of one app connection: by twin id (one `openTwinStream` each) and by id prefix
 * (one `openPrefixStream` each, including twins created later). All streams of the connection
 * share its `Feeds.positions`, so overlapping subscriptions never duplicate a version; each stream
 * buffers live changes while it catches up (actors/live-buffer.ts). Closing a subscription closes
 * its stream, even one still opening. Each subscription also registers the connection's command
 * listener for its twin or prefix, so command events reach only the connections following the twin.
 */
import { openPrefixStream, openTwinStream, StreamCloser } from '../../actors/index.ts';
import type { TwinService } from '../../actors/index.ts';
import type { Command } from '../../src/twin/commands.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Gauge } from '../../src/metrics/index.ts';
import type { Outbox } from './backlog.ts';
import type { Feeds } from './feeds.ts';

/** Twins opened at once by one subscribe request (each activates an actor and may read history). */
const OPEN_CONCURRENCY = 32;
/** Live notices a subscription holds while its snapshots or replay are still being sent. */
const MAX_BUFFERED = 10_000;

/** A subscription is what closes its stream, opening or open. */
type Subscription = StreamCloser;

export interface SubscriptionDeps {
  twins: TwinService;
  outbox: Outbox;
  feeds: Feeds;
  maxSubscriptions: number;
  /** `doppel_ws_subscriptions`, shared by all connections. */
  gauge: Gauge;
  /** Hears each status change of a followed twin's commands, once per change however many subscriptions cover it. */
  onCommand: (command: Command) => void;
}

export class Subscriptions {
  readonly #ids = new Map<string, Subscription>();
  readonly #prefixes = new Map<string, Subscription>();
  /** What ends each subscription's command listener, by twin id and by prefix. */
  readonly #unlistenIds = new Map<string, () => void>();
  readonly #unlistenPrefixes = new Map<string, () => void>();
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
    const opening: [string, Subscription][] = [];
    for (const id of ids) {
      if (this.#ids.has(id)) continue;
      const sub = new StreamCloser();
      this.#ids.set(id, sub);
      this.#unlistenIds.set(id, this.#deps.twins.commands.listen(id, this.#deps.onCommand));
      this.#deps.gauge.inc();
      opening.push([id, sub]);
    }
    const { twins, outbox, feeds } = this.#deps;
    await forEachLimited(opening, OPEN_CONCURRENCY, async ([id, sub]) => {
      await outbox.room();
      if (sub.closed) return;
      const from = since.get(id);
      try {
        await openTwinStream(twins, id, {
          ...(from === undefined ? {} : { since: from }),
          positions: feeds.positions, closer: sub, maxBuffered: MAX_BUFFERED,
          onOverflow: () => outbox.slowConsumer(),
          // The twin is gone (the client is told once): a recreated twin is a new twin, so this
          // subscription ends; subscribe again, or use a prefix subscription to follow recreations.
          onEnd: () => this.#dropId(id, sub),
        }, (item) => feeds.send(item));
      } catch (error) {
        this.#dropId(id, sub);
        failures.push({ twin: id, error });
      }
    });
    return failures;
  }

  #dropId(id: string, sub: Subscription): void {
    sub.close();
    if (this.#ids.get(id) === sub) {
      this.#ids.delete(id);
      this.#unlistenIds.get(id)?.();
      this.#unlistenIds.delete(id);
      this.#deps.gauge.dec();
    }
  }

  /** Subscribes to every twin whose id starts with `prefix`, now and later (already authorized and counted). */
  async addPrefix(prefix: string, since: ReadonlyMap<string, number>): Promise<void> {
    if (this.#prefixes.has(prefix)) return;
    const { twins, outbox, feeds } = this.#deps;
    const sub = new StreamCloser();
    this.#prefixes.set(prefix, sub);
    this.#unlistenPrefixes.set(prefix, this.#deps.twins.commands.listenPrefix(prefix, this.#deps.onCommand));
    this.#deps.gauge.inc();
    await openPrefixStream(twins, prefix, {
      since, positions: feeds.positions, closer: sub, maxBuffered: MAX_BUFFERED,
      onOverflow: () => outbox.slowConsumer(), pace: () => outbox.room(),
    }, (item) => feeds.send(item));
  }

  /** Ends the id subscriptions among `ids`; unknown ones are ignored. */
  removeIds(ids: readonly string[]): void {
    for (const id of ids) {
      const sub = this.#ids.get(id);
      if (sub === undefined) continue;
      this.#dropId(id, sub);
      if (!this.#coveredByPrefix(id)) this.#deps.feeds.positions.forget(id);
    }
  }

  removePrefix(prefix: string): void {
    const sub = this.#prefixes.get(prefix);
    if (sub === undefined) return;
    this.#closePrefix(prefix, sub);
    this.#deps.feeds.positions.forgetWhere((id) => id.startsWith(prefix) && !this.#ids.has(id) && !this.#coveredByPrefix(id));
  }

  #closePrefix(prefix: string, sub: Subscription): void {
    sub.close();
    this.#prefixes.delete(prefix);
    this.#unlistenPrefixes.get(prefix)?.();
    this.#unlistenPrefixes.delete(prefix);
    this.#deps.gauge.dec();
  }

  #coveredByPrefix(id: string): boolean {
    for (const prefix of this.#prefixes.keys()) if (id.startsWith(prefix)) return true;
    return false;
  }

  /** The connection is gone: every stream is closed at once. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const [id, sub] of this.#ids) this.#dropId(id, sub);
    for (const [prefix, sub] of [...this.#prefixes]) this.#closePrefix(prefix, sub);
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
