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
 *   order), kept alive (`working()`) so the server does not redeliver them out of order. Once it
 *   holds more than its share of the window (parkAt) it is parked (parked-twins.ts): delivered
 *   apart from the stream, its records acknowledged, so it never holds back other twins.
 * - A session ends on any consumer failure: everything held is let go, and the next session
 *   restarts the consumer from its ack floor (at least once, per-twin order kept).
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../log.ts';
import { decodeValue } from '../store/codec.ts';
import { ACK_WAIT_MS, consumerName, MAX_ACK_PENDING } from '../store/jetstream/connectors.ts';
import type { ClusterConnector, ConnectorBucket, ConnectorNumbers } from '../store/jetstream/connectors.ts';
import { twinIdOfSubject } from '../store/jetstream/names.ts';
import type { TwinRecord } from '../store/jetstream/record.ts';
import type { OutboxEntry } from '../store/types.ts';
import { sleep } from './backoff.ts';
import { EventSender } from './event-sender.ts';
import type { Target } from './targets/target.ts';
import { ParkedTwins } from './parked-twins.ts';
import { toSelector } from './select.ts';
import type { Selector } from './select.ts';
import { deliveriesOf, TrimWatch } from './stream-events.ts';
import type { WorkerStats } from './worker.ts';

/** Twins delivered at once per connector. */
const CONCURRENCY = 16;
/** Records the client pulls ahead. */
const PULL = 256;
const RESTART_PAUSE_MS = 1_000;
const PUBLISH_MS = 1_000;
/** A failing twin holding more records than this (or a quarter of the free window) is parked. */
const PARK_AT = 64;

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
  /** The consumer's max_ack_pending (default MAX_ACK_PENDING; smaller in tests). */
  window?: number;
}

interface Item { m: JsMsg; entries: OutboxEntry[]; next: number }
/** One twin's held records; `abort` ends its delivery (session ended or twin parked). */
interface TwinQueue { twin: string; items: Item[]; abort: AbortController; failing: boolean; parking: boolean }

/** What one consumer session holds; dropped whole when the session ends. */
class Session {
  readonly abort = new AbortController();
  readonly held = new Map<number, JsMsg>();
  readonly queues = new Map<string, TwinQueue>();
  readonly waiting: string[] = [];
  readonly drains = new Set<Promise<void>>();
  active = 0;
  constructor() {
    this.abort.signal.addEventListener('abort', () => { for (const q of this.queues.values()) q.abort.abort(); }, { once: true });
  }
}

export class StreamWorker {
  readonly #sender: EventSender;
  readonly #def: ClusterConnector;
  readonly #selector: Selector;
  readonly #deps: StreamWorkerDeps;
  readonly #stop = new AbortController();
  readonly #trimmed = new TrimWatch();
  #session: Session | null = null;
  #floor = 0;
  #loop: Promise<void> | null = null;
  #publisher: ReturnType<typeof setInterval> | null = null;
  readonly #parked: ParkedTwins;
  #resumed = false;

  constructor(def: ClusterConnector, deps: StreamWorkerDeps) {
    this.#def = def;
    this.#selector = toSelector(def);
    this.#deps = deps;
    this.#sender = new EventSender(def, deps);
    this.#parked = new ParkedTwins({
      connector: def.id, startSeq: def.startSeq, bucket: deps.bucket, logger: deps.logger, owns: deps.owns, stop: this.#stop.signal,
      deliver: (twin, record, signal, failed, pause) => this.#sender.send({ entries: this.#entriesOf(twin, record), next: 0 }, signal, failed, pause),
    });
  }

  get stats(): WorkerStats { return this.#sender.stats; }

  /** When the oldest event held undelivered was written (ms), for the lag. */
  get oldestAt(): number | null {
    const first = this.#session?.held.values().next();
    const held = first === undefined || first.done === true ? null : Math.floor(Number(first.value.info.timestampNanos) / 1_000_000);
    const parked = this.#parked.oldestAt;
    return held === null || parked === null ? held ?? parked : Math.min(held, parked);
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
    await this.#parked.stopped();
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
        // Parked twins first: their records must be ignored from the first one the consumer brings.
        if (!this.#resumed) { await this.#parked.resume(); this.#resumed = true; }
        await bucket.restartConsumer(this.#def, this.#floor, this.#deps.window);
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
    if (this.#parked.offer(twin, m, () => this.#accept(session, m))) return;
    let record: TwinRecord;
    try {
      record = decodeValue<TwinRecord>(m.data);
    } catch (err) {
      // Never written by Doppel; skipping it beats replaying it forever.
      this.#deps.logger.error('connector skipped an unreadable record', { connector: this.#def.id, seq: m.seq, err: String(err) });
      m.ack();
      return;
    }
    const entries = this.#entriesOf(twin, record);
    if (entries.length === 0) { m.ack(); return; }
    session.held.set(m.seq, m);
    const queue = session.queues.get(twin);
    if (queue !== undefined) { queue.items.push({ m, entries, next: 0 }); this.#parkIfHeavy(session, queue); return; }
    session.queues.set(twin, { twin, items: [{ m, entries, next: 0 }], abort: new AbortController(), failing: false, parking: false });
    if (session.active < CONCURRENCY) this.#drain(session, twin);
    else session.waiting.push(twin);
  }

  /** The events of `twin`'s record this connector delivers, counting those retention trimmed before it. */
  #entriesOf(twin: string, record: TwinRecord): OutboxEntry[] {
    const trimmed = this.#trimmed.missed(twin, record, this.#selector);
    if (trimmed > 0) this.#sender.dropped(trimmed);
    return deliveriesOf(twin, record, this.#selector);
  }

  /** Parks a failing twin holding more than its share of the window: durably first, then acknowledges what it held. */
  #parkIfHeavy(session: Session, q: TwinQueue): void {
    const free = (this.#deps.window ?? MAX_ACK_PENDING) - session.held.size;
    if (!q.failing || q.parking || q.items.length <= Math.min(PARK_AT, Math.max(1, Math.floor(free / 4)))) return;
    q.parking = true;
    q.abort.abort();
    // Counted with the drains: the next session starts only once the twin is parked (or not).
    const parking = this.#parked.park(q.twin, q.items[0]!.m.seq).then(() => {
      // Records that came meanwhile are in q.items too; later ones the parked loop reads.
      for (const item of q.items) { session.held.delete(item.m.seq); item.m.ack(); }
      if (session.queues.get(q.twin) === q) session.queues.delete(q.twin);
    }, (err: unknown) => {
      this.#deps.logger.warn('connector cannot park a failing twin; restarting from its ack floor', { connector: this.#def.id, twin: q.twin, err: String(err) });
      session.abort.abort();
    }).finally(() => session.drains.delete(parking));
    session.drains.add(parking);
  }

  #drain(session: Session, twin: string): void {
    session.active++;
    const run = (async () => {
      const q = session.queues.get(twin);
      if (q === undefined) return;
      while (q.items.length > 0 && !q.abort.signal.aborted) {
        const item = q.items[0]!;
        if (!(await this.#deliver(session, q, item)) || q.parking) return;
        session.held.delete(item.m.seq);
        q.items.shift();
      }
      if (q.items.length === 0 && session.queues.get(twin) === q) session.queues.delete(twin);
    })().finally(() => {
      session.active--;
      session.drains.delete(run);
      const next = session.waiting.shift();
      if (next !== undefined && !session.abort.signal.aborted) this.#drain(session, next);
    });
    session.drains.add(run);
  }

  /** Delivers what is left of `item`, then acknowledges it; true once it is acknowledged. */
  async #deliver(session: Session, q: TwinQueue, item: Item): Promise<boolean> {
    const { signal } = q.abort;
    const sent = await this.#sender.send(item, signal, () => { q.failing = true; this.#parkIfHeavy(session, q); });
    if (!sent) {
      if (!signal.aborted && !this.#deps.owns()) session.abort.abort();
      return false;
    }
    q.failing = false;
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
