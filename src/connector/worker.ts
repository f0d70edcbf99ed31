/**
 * @module
 * One delivery worker per connector, isolated from the others and from twin writes. Events reach
 * it two ways. Live: the service hands it each committed outbox entry (`accept`), held in memory
 * (pending.ts) while there is room. From disk: at start, and whenever memory was full, it reads the
 * outbox in seq order from a cursor, holding what fits, until it has read everything once with
 * nothing left out; then it goes live again. Memory stays bounded however long a target is down:
 * what does not fit waits on disk.
 *
 * It delivers each twin's events in order, twins concurrently; a failed event blocks its twin's
 * later events (retried with backoff), never other twins'. Acknowledged entries are deleted from
 * the outbox in batched commits. Its counts are saved in the connector's record now and then and
 * at a clean stop.
 *
 * Reading from disk relies on one property of the twin actors: an outbox entry's seq is taken in
 * the same synchronous step that queues its commit, so commits land in seq order, and once a read
 * sees seq n, every lower seq is either visible too or was never committed.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.ts';
import type { OutboxEntry, StoreOp, StoredConnector, TwinStore } from '../store/types.ts';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import { PendingEvents } from './pending.ts';
import type { Lane, PendingLimits } from './pending.ts';
import type { Target } from './targets/target.ts';
import { DiskReader } from './disk-reader.ts';
import { bodyOf } from './event-body.ts';
import { OutboxDeletes } from './outbox-deletes.ts';

/** Deliveries in flight at once per connector (one per twin). */
const CONCURRENCY = 16;
/** Events one twin delivers before other ready twins get their turn. */
const TURN = 32;
/** Events held in memory per connector, in all and per twin. */
export const HELD_LIMITS = { maxEntries: 4096, maxPerTwin: 64 };
/** Look for due retries and due saves at least this often. */
const IDLE_POLL_MS = 1000;
/** How often changed counts are saved in the connector's record (kill -9 loses at most this much). */
export const COUNTS_SAVE_MS = 10_000;

export interface WorkerStats {
  delivered: number;
  failed: number;
  dropped: number;
  lastError: string | null;
  state: 'healthy' | 'failing';
}

export interface WorkerDeps {
  store: TwinStore;
  target: Target;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  /** After each delivered, failed or dropped event (for /metrics). */
  onOutcome?: (outcome: 'delivered' | 'failed' | 'dropped') => void;
  /** Events held in memory at most (default HELD_LIMITS; smaller in tests). */
  held?: PendingLimits;
}

export class ConnectorWorker {
  readonly stats: WorkerStats;
  readonly #def: StoredConnector;
  readonly #deps: WorkerDeps;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  readonly #pending: PendingEvents;
  readonly #disk: DiskReader;
  readonly #lanes = new Set<Promise<void>>();
  #active = 0;
  #started = false;
  #pumpQueued = false;
  readonly #deletes: OutboxDeletes;
  #countsChanged = false;
  #countsSavedAt = 0;
  #wakeUp: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;

  constructor(def: StoredConnector, deps: WorkerDeps) {
    this.#def = def;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    const { delivered = 0, failed = 0, dropped = 0 } = def.counts ?? {};
    this.stats = { delivered, failed, dropped, lastError: null, state: 'healthy' };
    this.#pending = new PendingEvents(deps.held ?? HELD_LIMITS);
    this.#disk = new DiskReader(def.id, deps.store, this.#pending);
    this.#deletes = new OutboxDeletes(def.id, deps.store, deps.logger, (seqs) => this.#pending.deleted(seqs));
    // Every delivery in flight (up to CONCURRENCY) listens for the stop signal. Only a warning
    // threshold: a runtime whose node:events cannot set it on an AbortSignal loses nothing.
    try { setMaxListeners(CONCURRENCY * 4, this.#abort.signal); } catch { /* warning threshold only */ }
  }

  /** When the oldest event held in memory was written (ms), for the lag gauge. */
  get oldestAt(): number | null { return this.#pending.oldestAt(); }

  /** Events and twins held in memory now. */
  get held(): { events: number; twins: number } { return { events: this.#pending.size, twins: this.#pending.twins }; }

  start(): void {
    this.#started = true;
    this.#countsSavedAt = this.#now();
    this.#loop ??= this.#run().catch((err: unknown) => {
      this.#deps.logger.error('connector worker stopped on an error', { connector: this.#def.id, err });
    });
  }

  /** An outbox entry of this connector was committed: held and delivered if there is room, else read from disk later. */
  accept(entry: OutboxEntry): void {
    if (this.#abort.signal.aborted) return;
    if (this.#disk.takesLive(entry)) {
      if (this.#pending.offer(entry)) { this.#pumpSoon(); return; }
      this.#disk.spilled(entry.seq);
    } else {
      this.#disk.refused(entry.seq);
    }
    this.wake();
  }

  /** Look now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.wake();
    await this.#loop;
    await Promise.allSettled([...this.#lanes]);
    // What the target acknowledged is not delivered again after a restart.
    await this.#deletes.close();
    if (this.#started) await this.#saveCounts();
    await this.#deps.target.close().catch(() => undefined);
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      this.#woken = false;
      const nextRetry = this.#pending.promote(this.#now());
      this.#pump();
      if (this.#disk.reading && !this.#pending.full) {
        let again = false;
        try {
          again = await this.#disk.step(this.#now());
        } catch (err) {
          if (this.#abort.signal.aborted) return;
          this.#deps.logger.warn('connector could not read its outbox', { connector: this.#def.id, err });
        }
        this.#pump();
        // Through the event loop, not the microtask queue: a store whose reads settle at once must
        // not starve timers and I/O while the reads go on.
        if (again) { await new Promise((resolve) => setImmediate(resolve)); continue; }
      }
      if (this.#now() - this.#countsSavedAt >= COUNTS_SAVE_MS) await this.#saveCounts();
      const now = this.#now();
      await this.#sleep(nextRetry === null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(10, nextRetry - now)));
    }
  }

  /**
   * Pumps on the next turn of the event loop, once for every event accepted in this turn: the
   * committing write answers its client first, without waiting for a delivery to be signed and sent.
   */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(() => { this.#pumpQueued = false; this.#pump(); });
  }

  /** Starts deliveries for ready twins, up to CONCURRENCY at once. */
  #pump(): void {
    while (this.#started && this.#active < CONCURRENCY && !this.#abort.signal.aborted) {
      const lane = this.#pending.take();
      if (lane === undefined) return;
      this.#active++;
      const turn: Promise<void> = this.#deliver(lane)
        .catch((err: unknown) => { this.#deps.logger.error('connector delivery failed unexpectedly', { connector: this.#def.id, err }); })
        .finally(() => {
          this.#active--;
          this.#lanes.delete(turn);
          if (this.#pending.release(lane)) this.#disk.drained(lane.twin);
          this.#pump();
          // Room freed, or a retry to schedule: the loop decides what next.
          if (this.#disk.reading || lane.retryAt > 0) this.wake();
        });
      this.#lanes.add(turn);
    }
  }

  /** Delivers one twin's events in order: up to TURN of them, or until one fails. */
  async #deliver(lane: Lane): Promise<void> {
    const { target } = this.#deps;
    for (let n = 0; n < TURN; n++) {
      const entry = lane.entries[0];
      if (entry === undefined || this.#abort.signal.aborted) return;
      if (this.#now() - Date.parse(entry.at) > this.#def.maxAgeSeconds * 1000) {
        this.#settled(lane, entry, 'dropped');
        continue;
      }
      try {
        await target.send(entry, bodyOf(entry), this.#abort.signal);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#failed(lane, err);
        return; // the twin's later events wait for this one
      }
      this.#settled(lane, entry, 'delivered');
      this.#setState('healthy');
    }
  }

  #settled(lane: Lane, entry: OutboxEntry, outcome: 'delivered' | 'dropped'): void {
    this.#pending.shift(lane);
    this.#deletes.add(entry.seq);
    this.#count(outcome);
  }

  #failed(lane: Lane, err: unknown): void {
    lane.attempts++;
    const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
    lane.retryAt = this.#now() + retryDelayMs(lane.attempts, this.#deps.backoff ?? DEFAULT_BACKOFF, this.#random(), retryAfter);
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    this.#count('failed');
    this.#setState('failing');
  }

  #count(outcome: 'delivered' | 'failed' | 'dropped'): void {
    this.stats[outcome]++;
    this.#countsChanged = true;
    this.#deps.onOutcome?.(outcome);
  }

  /** Saves the counts in the connector's record when they changed. */
  async #saveCounts(): Promise<void> {
    this.#countsSavedAt = this.#now();
    if (!this.#countsChanged) return;
    this.#countsChanged = false;
    const { delivered, failed, dropped } = this.stats;
    try {
      await this.#deps.store.commit([{ type: 'putConnector', connector: { ...this.#def, counts: { delivered, failed, dropped } } } satisfies StoreOp]);
    } catch (err) {
      this.#countsChanged = true;
      this.#deps.logger.warn('connector could not save its counts', { connector: this.#def.id, err });
    }
  }

  /** One log line per change of state, not per retry. */
  #setState(state: WorkerStats['state']): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    if (state === 'failing') this.#deps.logger.warn('connector failing', { connector: this.#def.id, lastError: this.stats.lastError });
    else this.#deps.logger.info('connector healthy again', { connector: this.#def.id });
  }

  /** Sleeps `ms`, or less when woken; a wake-up that came during the round ends it at once. */
  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#wakeUp = null; resolve(); }, ms);
      this.#wakeUp = () => { clearTimeout(timer); this.#wakeUp = null; resolve(); };
    });
  }
}
