/**
 * @module
 * Delivery of one connector in cluster mode, on the one node holding its lease: the twin stream
 * is the outbox, read through the connector's durable pull consumer (store/jetstream/connectors.ts).
 *
 * - Records arrive in stream order; each twin's records queue in that order and are delivered
 *   one after another, twins in parallel (at most CONCURRENCY at once). A record is acknowledged
 *   (and confirmed by the server) only once the target took all of its events, so the consumer's
 *   ack floor never passes an undelivered event.
 * - A failing twin backs off and holds its later records unacknowledged (never nak'ed out of
 *   order); other twins go on until MAX_ACK_PENDING records are held, then the backlog waits in
 *   the stream, not in memory. Held records are kept alive (`working()`) so the server does not
 *   redeliver them out of order.
 * - A session ends on any consumer failure: everything held is let go, and the next session
 *   restarts the consumer from its ack floor (at least once, per-twin order kept).
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../log.ts';
import { decodeValue } from '../store/codec.ts';
import { ACK_WAIT_MS, consumerName } from '../store/jetstream/connectors.ts';
import type { ClusterConnector, ConnectorBucket, ConnectorNumbers } from '../store/jetstream/connectors.ts';
import { twinIdOfSubject } from '../store/jetstream/names.ts';
import type { TwinRecord } from '../store/jetstream/record.ts';
import type { OutboxEntry } from '../store/types.ts';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.ts';
import { toSelector } from './select.ts';
import type { Selector } from './select.ts';
import { deliveriesOf, TrimWatch } from './stream-events.ts';
import type { Target } from './targets/target.ts';
import type { WorkerStats } from './worker.ts';

/** Twins delivered at once per connector. */
const CONCURRENCY = 16;
/** Records the client pulls ahead. */
const PULL = 256;
const RESTART_PAUSE_MS = 1_000;
const PUBLISH_MS = 1_000;

export interface StreamWorkerDeps {
  bucket: ConnectorBucket;
  target: Target;
  logger: Logger;
  /** This node's id, published with the numbers. */
  node: string;
  /**
   * True while this node holds the connector's lease. Checked before every send and restart, so
   * a node that lost the lease (handed over, expired) stops at once, not at the next tick.
   */
  owns: () => boolean;
  onOutcome?: (outcome: 'delivered' | 'failed' | 'dropped') => void;
}

interface Item { m: JsMsg; entries: OutboxEntry[]; next: number }

/** What one consumer session holds; dropped whole when the session ends. */
class Session {
  readonly abort = new AbortController();
  readonly held = new Map<number, JsMsg>();
  readonly queues = new Map<string, Item[]>();
  readonly waiting: string[] = [];
  readonly drains = new Set<Promise<void>>();
  active = 0;
}

export class StreamWorker {
  readonly stats: WorkerStats = { delivered: 0, failed: 0, dropped: 0, lastError: null, state: 'healthy' };
  readonly #def: ClusterConnector;
  readonly #selector: Selector;
  readonly #deps: StreamWorkerDeps;
  readonly #stop = new AbortController();
  readonly #trimmed = new TrimWatch();
  #session: Session | null = null;
  #floor = 0;
  #loop: Promise<void> | null = null;
  #publisher: ReturnType<typeof setInterval> | null = null;

  constructor(def: ClusterConnector, deps: StreamWorkerDeps) {
    this.#def = def;
    this.#selector = toSelector(def);
    this.#deps = deps;
  }

  /** When the oldest event held undelivered was written (ms), for the lag. */
  get oldestAt(): number | null {
    const first = this.#session?.held.values().next();
    return first === undefined || first.done === true ? null : Math.floor(Number(first.value.info.timestampNanos) / 1_000_000);
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => {
      this.#deps.logger.error('connector delivery stopped on an error', { connector: this.#def.id, err });
    });
  }

  /** Stops delivering; `publish` false when the connector was removed (its numbers are gone). */
  async stop(publish = true): Promise<void> {
    this.#stop.abort(); // ends the session, which closes its consumer
    await this.#loop;
    if (this.#publisher !== null) clearInterval(this.#publisher);
    if (publish) await this.#publish();
    await this.#deps.target.close().catch(() => undefined);
  }

  async #run(): Promise<void> {
    const { bucket, logger } = this.#deps;
    const published = await bucket.numbers(this.#def.id).catch(() => undefined);
    if (published !== undefined) {
      // The numbers are the connector's, not this node's: carry on from the last holder's.
      Object.assign(this.stats, { delivered: published.delivered, failed: published.failed, dropped: published.dropped, lastError: published.lastError, state: published.state });
      this.#floor = published.floor;
    }
    this.#publisher = setInterval(() => { void this.#publish(); }, PUBLISH_MS);
    while (!this.#stop.signal.aborted) {
      const session = new Session();
      this.#session = session;
      if (!this.#deps.owns()) { await sleep(RESTART_PAUSE_MS, this.#stop.signal); continue; }
      const onStop = () => session.abort.abort();
      this.#stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        await bucket.restartConsumer(this.#def, this.#floor);
        const { js, names } = bucket.connected;
        const messages = await (await js.consumers.get(names.stream, consumerName(this.#def.id))).consume({ max_messages: PULL });
        // A session ended (stop, lost lease) stops waiting for the next record at once, even
        // when it ended while the consumer was being set up.
        const close = () => { void messages.close().catch(() => undefined); };
        if (session.abort.signal.aborted) close();
        else session.abort.signal.addEventListener('abort', close, { once: true });
        const keepAlive = setInterval(() => { for (const m of session.held.values()) m.working(); }, ACK_WAIT_MS / 3);
        try {
          for await (const m of messages) {
            if (this.#stop.signal.aborted || session.abort.signal.aborted) break;
            this.#accept(session, m);
          }
        } finally {
          clearInterval(keepAlive);
          await messages.close().catch(() => undefined);
        }
      } catch (err) {
        if (!this.#stop.signal.aborted) logger.warn('connector consumer failed; restarting from its ack floor', { connector: this.#def.id, err: String(err instanceof Error ? err.message : err) });
      } finally {
        this.#stop.signal.removeEventListener('abort', onStop);
      }
      session.abort.abort();
      await Promise.allSettled([...session.drains]);
      if (!this.#stop.signal.aborted) await sleep(RESTART_PAUSE_MS, this.#stop.signal);
    }
  }

  #accept(session: Session, m: JsMsg): void {
    if (session.abort.signal.aborted) return; // let go: the next holder or session gets it again
    if (session.held.has(m.seq)) return; // a redelivery of a record still held: the original is on its way
    const twin = twinIdOfSubject(this.#deps.bucket.connected.names, m.subject);
    let record: TwinRecord;
    try {
      record = decodeValue<TwinRecord>(m.data);
    } catch (err) {
      // Never written by Doppel; skipping it beats replaying it forever.
      this.#deps.logger.error('connector skipped an unreadable record', { connector: this.#def.id, seq: m.seq, err: String(err) });
      m.ack();
      return;
    }
    const trimmed = this.#trimmed.missed(twin, record, this.#selector);
    if (trimmed > 0) {
      this.stats.dropped += trimmed;
      for (let i = 0; i < trimmed; i++) this.#deps.onOutcome?.('dropped');
    }
    const entries = deliveriesOf(twin, record, this.#selector);
    if (entries.length === 0) { m.ack(); return; }
    session.held.set(m.seq, m);
    const queue = session.queues.get(twin);
    if (queue !== undefined) { queue.push({ m, entries, next: 0 }); return; }
    session.queues.set(twin, [{ m, entries, next: 0 }]);
    if (session.active < CONCURRENCY) this.#drain(session, twin);
    else session.waiting.push(twin);
  }

  #drain(session: Session, twin: string): void {
    session.active++;
    const run = (async () => {
      const queue = session.queues.get(twin)!;
      while (queue.length > 0 && !session.abort.signal.aborted) {
        if (!(await this.#deliver(session, queue[0]!))) return;
        session.held.delete(queue[0]!.m.seq);
        queue.shift();
      }
      if (queue.length === 0) session.queues.delete(twin);
    })().finally(() => {
      session.active--;
      session.drains.delete(run);
      const next = session.waiting.shift();
      if (next !== undefined && !session.abort.signal.aborted) this.#drain(session, next);
    });
    session.drains.add(run);
  }

  /** Delivers what is left of `item`, retrying with backoff; true once the record is acknowledged. */
  async #deliver(session: Session, item: Item): Promise<boolean> {
    const { signal } = session.abort;
    let attempts = 0;
    while (item.next < item.entries.length) {
      if (signal.aborted) return false;
      if (!this.#deps.owns()) { session.abort.abort(); return false; }
      const entry = item.entries[item.next]!;
      if (Date.now() - Date.parse(entry.at) > this.#def.maxAgeSeconds * 1000) {
        this.stats.dropped++;
        this.#deps.onOutcome?.('dropped');
        item.next++;
        continue;
      }
      try {
        await this.#deps.target.send(entry, JSON.stringify({ type: entry.type, event: entry.event }), signal);
      } catch (err) {
        if (signal.aborted) return false;
        attempts++;
        this.#failed(err);
        await sleep(retryDelayMs(attempts, DEFAULT_BACKOFF, Math.random(), (err as { retryAfterMs?: number }).retryAfterMs), signal);
        continue;
      }
      attempts = 0;
      item.next++;
      this.stats.delivered++;
      this.#deps.onOutcome?.('delivered');
      this.#setState('healthy');
    }
    return this.#ack(item.m, signal);
  }

  /** A confirmed ack, so the twin's next record is never acknowledged before this one. */
  async #ack(m: JsMsg, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 0; attempt < 3 && !signal.aborted; attempt++) {
      try {
        await m.ackAck();
        return true;
      } catch {
        await sleep(RESTART_PAUSE_MS, signal);
      }
    }
    // Delivered but not confirmed: at worst it comes again (at least once).
    if (!signal.aborted) m.ack();
    return !signal.aborted;
  }

  #failed(err: unknown): void {
    this.stats.failed++;
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    this.#deps.onOutcome?.('failed');
    this.#setState('failing');
  }

  #setState(state: WorkerStats['state']): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    if (state === 'failing') this.#deps.logger.warn('connector failing', { connector: this.#def.id, lastError: this.stats.lastError });
    else this.#deps.logger.info('connector healthy again', { connector: this.#def.id });
  }

  /** Publishes the numbers for GET /v1/connectors/{id} on every node. */
  async #publish(): Promise<void> {
    const { bucket, node } = this.#deps;
    // Only the holder: a node that lost the lease must not overwrite its successor's numbers.
    if (!this.#deps.owns()) return;
    try {
      this.#floor = Math.max(this.#floor, await bucket.ackFloor(this.#def.id).catch(() => 0));
      const numbers: ConnectorNumbers = { ...this.stats, oldestAt: this.oldestAt, floor: this.#floor, node };
      await bucket.publish(this.#def.id, numbers);
    } catch {
      // The next tick publishes again; the numbers are informational.
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
