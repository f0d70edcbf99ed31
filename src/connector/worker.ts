/**
 * @module
 * One delivery worker per connector, isolated from the others and from twin writes: it reads the
 * connector's outbox from the store (the backlog stays on disk, however long the target is down),
 * delivers each twin's entries in order, removes what the target acknowledged, and backs off per
 * twin on failure: a failed event blocks its twin's later events, never other twins'.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.ts';
import type { OutboxEntry, StoreOp, StoredConnector, TwinStore } from '../store/types.ts';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import type { Target } from './targets/target.ts';
import { mapLimit } from '../map-limit.ts';

/** Entries read per round; twins in one round are delivered concurrently, each in order. */
const BATCH = 512;
/** Deliveries in flight at once per connector. */
const CONCURRENCY = 16;
/** Re-read the outbox this often even without a wake-up (entries written by another process, clock). */
const IDLE_POLL_MS = 1000;

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
}

export class ConnectorWorker {
  readonly stats: WorkerStats = { delivered: 0, failed: 0, dropped: 0, lastError: null, state: 'healthy' };
  /** When the oldest entry seen in the last round was written (ms), for the lag gauge. */
  oldestAt: number | null = null;
  readonly #def: StoredConnector;
  readonly #deps: WorkerDeps;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #abort = new AbortController();
  /** Per blocked twin: failed attempts so far and when it may be retried. */
  readonly #blocked = new Map<string, { attempts: number; retryAt: number }>();
  #wakeUp: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;

  constructor(def: StoredConnector, deps: WorkerDeps) {
    this.#def = def;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    // Every delivery in flight (up to CONCURRENCY) listens for the stop signal. Only a warning
    // threshold: a runtime whose node:events cannot set it on an AbortSignal loses nothing.
    try { setMaxListeners(CONCURRENCY * 4, this.#abort.signal); } catch { /* warning threshold only */ }
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => {
      this.#deps.logger.error('connector worker stopped on an error', { connector: this.#def.id, err });
    });
  }

  /** New entries were committed: look now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.wake();
    await this.#loop;
    await this.#deps.target.close().catch(() => undefined);
  }

  async #run(): Promise<void> {
    const { store } = this.#deps;
    while (!this.#abort.signal.aborted) {
      this.#woken = false;
      let entries: OutboxEntry[];
      try {
        entries = await store.readOutbox!(this.#def.id, BATCH);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#deps.logger.warn('connector could not read its outbox', { connector: this.#def.id, err });
        await this.#sleep(IDLE_POLL_MS);
        continue;
      }
      this.oldestAt = entries.length === 0 ? null : Math.min(...entries.map((e) => Date.parse(e.at)));
      const now = this.#now();
      const ready = groupReady(entries, (twin) => (this.#blocked.get(twin)?.retryAt ?? 0) <= now);
      if (ready.length === 0) {
        await this.#sleep(this.#nextRetryIn(now) ?? IDLE_POLL_MS);
        continue;
      }
      const done: StoreOp[] = [];
      await mapLimit(ready, CONCURRENCY, (group) => this.#deliverTwin(group, done));
      if (done.length > 0) {
        try {
          await store.commit(done);
        } catch (err) {
          // Not removed: delivered again later (at least once).
          this.#deps.logger.warn('connector could not remove acknowledged events', { connector: this.#def.id, err });
          await this.#sleep(IDLE_POLL_MS);
        }
      }
    }
  }

  async #deliverTwin(group: OutboxEntry[], done: StoreOp[]): Promise<void> {
    for (const entry of group) {
      if (this.#abort.signal.aborted) return;
      const remove: StoreOp = { type: 'deleteOutbox', connector: entry.connector, seq: entry.seq };
      if (this.#now() - Date.parse(entry.at) > this.#def.maxAgeSeconds * 1000) {
        done.push(remove);
        this.stats.dropped++;
        this.#deps.onOutcome?.('dropped');
        continue;
      }
      try {
        await this.#deps.target.send(entry, JSON.stringify({ type: entry.type, event: entry.event }), this.#abort.signal);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#failed(entry.twin, err);
        return; // the twin's later entries wait for this one
      }
      done.push(remove);
      this.#blocked.delete(entry.twin);
      this.stats.delivered++;
      this.#deps.onOutcome?.('delivered');
      this.#setState('healthy');
    }
  }

  #failed(twin: string, err: unknown): void {
    const attempts = (this.#blocked.get(twin)?.attempts ?? 0) + 1;
    const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
    this.#blocked.set(twin, { attempts, retryAt: this.#now() + retryDelayMs(attempts, this.#deps.backoff ?? DEFAULT_BACKOFF, this.#random(), retryAfter) });
    this.stats.failed++;
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    this.#deps.onOutcome?.('failed');
    this.#setState('failing');
  }

  /** One log line per change of state, not per retry. */
  #setState(state: WorkerStats['state']): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    if (state === 'failing') this.#deps.logger.warn('connector failing', { connector: this.#def.id, lastError: this.stats.lastError });
    else this.#deps.logger.info('connector healthy again', { connector: this.#def.id });
  }

  #nextRetryIn(now: number): number | null {
    let next: number | null = null;
    for (const { retryAt } of this.#blocked.values()) if (next === null || retryAt < next) next = retryAt;
    return next === null ? null : Math.min(IDLE_POLL_MS * 30, Math.max(10, next - now));
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

/** The entries of twins that may be tried now, grouped per twin in seq order. */
export function groupReady(entries: readonly OutboxEntry[], mayTry: (twin: string) => boolean): OutboxEntry[][] {
  const groups = new Map<string, OutboxEntry[]>();
  for (const e of entries) {
    let group = groups.get(e.twin);
    if (group === undefined) {
      if (!mayTry(e.twin)) continue;
      groups.set(e.twin, group = []);
    }
    group.push(e);
  }
  return [...groups.values()];
}

