/**
 * @module
 * Parked twins of one cluster connector (docs/design/cluster.md §11): a failing twin that holds
 * too much of the consumer's window is delivered apart, so it never holds back other twins.
 *
 * - Parking is durable first: `{twin, fromSeq}` (its oldest undelivered record) goes to the
 *   connector's bucket, only then are its held records acknowledged; from then on every record
 *   of that twin the consumer brings is acknowledged unread (`offer`).
 * - Each parked twin has its own loop reading the twin's subject from `fromSeq` in stream order,
 *   one record at a time (bounded memory), delivering it with the worker's backoff and moving
 *   `fromSeq` on. What retention trimmed meanwhile is counted as dropped by the worker.
 * - Unparking is race-free on the delivering node: once a read finds nothing more, the twin is
 *   `closing`: records the consumer brings from the loop's cursor on are held (not ignored), the
 *   subject is read once more (records acknowledged unread before are in the stream, so that
 *   read finds them), and only when it too finds nothing is the key deleted and the held records
 *   handed back to the consumer's side. A failure or too many held records while closing parks
 *   the twin again (the held ones acknowledged: the loop will read them).
 * - At most CONCURRENCY parked twins send at once; the others wait their turn (one record; a
 *   twin waiting to retry gives its turn up meanwhile).
 * - A node taking the connector over resumes every parked twin from the bucket (`resume`).
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { MsgRequest } from '@nats-io/jetstream';
import type { Logger } from '../log.ts';
import { decodeValue } from '../store/codec.ts';
import type { ConnectorBucket } from '../store/jetstream/connectors.ts';
import { twinSubject } from '../store/jetstream/names.ts';
import type { TwinRecord } from '../store/jetstream/record.ts';
import { sleep } from './backoff.ts';

/** Parked twins delivering at once per connector. */
const CONCURRENCY = 16;
/** Records the consumer may hold for a closing twin before it is parked again. */
const MAX_CLOSING_HELD = 64;
const PAUSE_MS = 1_000;

export interface ParkedTwinsDeps {
  connector: string;
  /** Where the connector's delivery starts: a parked twin never starts below it. */
  startSeq: number;
  bucket: ConnectorBucket;
  logger: Logger;
  owns: () => boolean;
  /** Ends every loop (the worker stopped). */
  stop: AbortSignal;
  /**
   * Delivers `record`'s events with backoff; true once all were taken, false when stopped or
   * the lease was lost. `failed` is called on each failed attempt, `pause` waits between them.
   */
  deliver: (twin: string, record: TwinRecord, signal: AbortSignal, failed: () => void, pause: (ms: number, signal: AbortSignal) => Promise<void>) => Promise<boolean>;
}

interface Held { m: JsMsg; release: () => void }
interface Parked { twin: string; cursor: number; state: 'parked' | 'closing'; held: Held[]; oldestAt: number | null }

export class ParkedTwins {
  readonly #deps: ParkedTwinsDeps;
  readonly #twins = new Map<string, Parked>();
  readonly #loops = new Set<Promise<void>>();
  readonly #turns: Array<() => void> = [];
  #active = 0;

  constructor(deps: ParkedTwinsDeps) {
    this.#deps = deps;
    // Loops waiting for a turn end with the worker too.
    deps.stop.addEventListener('abort', () => { for (const turn of this.#turns.splice(0)) turn(); }, { once: true });
  }

  get size(): number { return this.#twins.size; }

  /** When the oldest record a parked twin has yet to deliver was written (ms). */
  get oldestAt(): number | null {
    let oldest: number | null = null;
    for (const p of this.#twins.values()) if (p.oldestAt !== null && (oldest === null || p.oldestAt < oldest)) oldest = p.oldestAt;
    return oldest;
  }

  /** Starts a loop for every twin parked in the bucket (a takeover); call before consuming. */
  async resume(): Promise<void> {
    for (const p of await this.#deps.bucket.parked(this.#deps.connector)) this.#start(p.twin, Math.max(p.fromSeq, this.#deps.startSeq));
  }

  /** Parks `twin` from `fromSeq`, durably; the caller then acknowledges what it held of it. */
  async park(twin: string, fromSeq: number): Promise<void> {
    await this.#deps.bucket.park(this.#deps.connector, twin, fromSeq);
    this.#start(twin, fromSeq);
  }

  /**
   * A record of `twin` the consumer brought: true when parking handles it (acknowledged unread,
   * or held while the twin closes, `release` then handing it back); false when not parked.
   */
  offer(twin: string, m: JsMsg, release: () => void): boolean {
    const p = this.#twins.get(twin);
    if (p === undefined) return false;
    if (p.state === 'parked' || m.seq < p.cursor) { m.ack(); return true; }
    if (!p.held.some((h) => h.m.seq === m.seq)) p.held.push({ m, release });
    if (p.held.length > MAX_CLOSING_HELD) this.#reopen(p);
    return true;
  }

  /** Waits for every loop to end (after the stop signal). */
  async stopped(): Promise<void> {
    await Promise.allSettled([...this.#loops]);
  }

  #start(twin: string, fromSeq: number): void {
    if (this.#twins.has(twin)) return;
    const p: Parked = { twin, cursor: fromSeq, state: 'parked', held: [], oldestAt: null };
    this.#twins.set(twin, p);
    this.#deps.logger.info('connector parked a failing twin', { connector: this.#deps.connector, twin, fromSeq });
    const loop = this.#loop(p).catch((err: unknown) => {
      this.#deps.logger.error('parked twin delivery stopped on an error', { connector: this.#deps.connector, twin, err });
    }).finally(() => { this.#loops.delete(loop); });
    this.#loops.add(loop);
  }

  /** Parked again: the loop reads everything held, so it is acknowledged. */
  #reopen(p: Parked): void {
    p.state = 'parked';
    for (const h of p.held) h.m.ack();
    p.held = [];
  }

  async #loop(p: Parked): Promise<void> {
    const { bucket, connector, logger, owns, stop } = this.#deps;
    const { jsm, names } = bucket.connected;
    const subject = twinSubject(names, p.twin);
    while (!stop.aborted) {
      if (!owns()) { await sleep(PAUSE_MS, stop); continue; }
      for (const h of p.held) h.m.working();
      let msg;
      try {
        // STREAM.MSG.GET's next_by_subj (server 2.9+): the twin's first record at or after the cursor.
        msg = await jsm.streams.getMessage(names.stream, { seq: p.cursor, next_by_subj: subject } as unknown as MsgRequest);
      } catch (err) {
        logger.debug('parked twin: cannot read the stream now', { connector, twin: p.twin, err: String(err) });
        await sleep(PAUSE_MS, stop);
        continue;
      }
      if (msg === null) {
        p.oldestAt = null;
        // The first empty read only starts closing: a record the consumer acknowledged unread
        // before is in the stream, so the next read finds it.
        if (p.state === 'parked') { p.state = 'closing'; continue; }
        if (await this.#unpark(p)) return;
        continue;
      }
      p.oldestAt = msg.time.getTime();
      let record: TwinRecord | undefined;
      try {
        record = decodeValue<TwinRecord>(msg.data);
      } catch (err) {
        logger.error('connector skipped an unreadable record', { connector, seq: msg.seq, err: String(err) });
      }
      if (record !== undefined && !(await this.#deliverInTurn(p, record))) continue;
      p.cursor = msg.seq + 1;
      for (const h of p.held.filter((x) => x.m.seq < p.cursor)) h.m.ack();
      p.held = p.held.filter((x) => x.m.seq >= p.cursor);
      await bucket.park(connector, p.twin, p.cursor).catch((err: unknown) => {
        // At worst the next holder delivers a few records again (at least once).
        logger.debug('parked twin: cannot store its progress now', { connector, twin: p.twin, err: String(err) });
      });
    }
  }

  /** Delivers one record within a turn, given up while it waits to retry: failing twins never hold every turn. */
  async #deliverInTurn(p: Parked, record: TwinRecord): Promise<boolean> {
    await this.#takeTurn();
    try {
      const pause = async (ms: number, signal: AbortSignal): Promise<void> => {
        this.#passTurn();
        try { await sleep(ms, signal); } finally { await this.#takeTurn(); }
      };
      return await this.#deps.deliver(p.twin, record, this.#deps.stop, () => { if (p.state === 'closing') this.#reopen(p); }, pause);
    } finally {
      this.#passTurn();
    }
  }

  async #takeTurn(): Promise<void> {
    if (this.#active < CONCURRENCY || this.#deps.stop.aborted) { this.#active++; return; }
    await new Promise<void>((resolve) => this.#turns.push(resolve));
  }

  /** A finished turn passes straight to the next waiter, so never more than CONCURRENCY run. */
  #passTurn(): void {
    const next = this.#turns.shift();
    if (next !== undefined) next();
    else this.#active--;
  }

  /** Deletes the key, then hands the held records back; false (still parked) when the bucket fails. */
  async #unpark(p: Parked): Promise<boolean> {
    try {
      await this.#deps.bucket.unpark(this.#deps.connector, p.twin);
    } catch (err) {
      this.#deps.logger.debug('parked twin: cannot unpark now', { connector: this.#deps.connector, twin: p.twin, err: String(err) });
      this.#reopen(p);
      await sleep(PAUSE_MS, this.#deps.stop);
      return false;
    }
    this.#twins.delete(p.twin);
    this.#deps.logger.info('connector unparked a twin: delivered in order again', { connector: this.#deps.connector, twin: p.twin });
    for (const h of p.held) h.release();
    return true;
  }
}
