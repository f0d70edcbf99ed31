/**
 * @module
 * Sending a cluster connector's events to its target, with backoff, and the numbers that keeps
 * (delivered, failed attempts, dropped, last error, state): shared by the consumer's twins and
 * the parked ones (stream-worker.ts, parked-twins.ts).
 */
import type { Logger } from '../log.ts';
import type { OutboxEntry } from '../store/types.ts';
import { DEFAULT_BACKOFF, retryDelayMs, sleep } from './backoff.ts';
import type { Target } from './targets/target.ts';
import type { WorkerStats } from './worker.ts';

export interface EventSenderDeps {
  target: Target;
  logger: Logger;
  /** True while this node holds the connector's lease: checked before every send. */
  owns: () => boolean;
  onOutcome?: (outcome: 'delivered' | 'failed' | 'dropped') => void;
}

export class EventSender {
  readonly stats: WorkerStats = { delivered: 0, failed: 0, dropped: 0, lastError: null, state: 'healthy' };
  readonly #def: { id: string; maxAgeSeconds: number };
  readonly #deps: EventSenderDeps;
  readonly #onOutcome: EventSenderDeps['onOutcome'];

  constructor(def: { id: string; maxAgeSeconds: number }, deps: EventSenderDeps) {
    this.#def = def;
    this.#deps = deps;
    this.#onOutcome = deps.onOutcome;
  }

  /** Events that will never be sent (too old, or trimmed by retention before delivery). */
  dropped(n: number): void {
    this.stats.dropped += n;
    for (let i = 0; i < n; i++) this.#onOutcome?.('dropped');
  }

  /**
   * Sends what is left of `item`, retrying with backoff (`failed` after each failure); true once
   * the target took every event, false when `signal` aborted or this node lost the lease.
   * `pause` waits between attempts (a parked twin gives its turn up meanwhile).
   */
  async send(item: { entries: OutboxEntry[]; next: number }, signal: AbortSignal, failed: () => void, pause: (ms: number, signal: AbortSignal) => Promise<void> = sleep): Promise<boolean> {
    let attempts = 0;
    while (item.next < item.entries.length) {
      if (signal.aborted || !this.#deps.owns()) return false;
      const entry = item.entries[item.next]!;
      if (Date.now() - Date.parse(entry.at) > this.#def.maxAgeSeconds * 1000) {
        this.dropped(1);
        item.next++;
        continue;
      }
      try {
        await this.#deps.target.send(entry, JSON.stringify({ type: entry.type, event: entry.event }), signal);
      } catch (err) {
        if (signal.aborted) return false;
        attempts++;
        this.#failed(err);
        failed();
        await pause(retryDelayMs(attempts, DEFAULT_BACKOFF, Math.random(), (err as { retryAfterMs?: number }).retryAfterMs), signal);
        continue;
      }
      attempts = 0;
      item.next++;
      this.stats.delivered++;
      this.#onOutcome?.('delivered');
      this.#setState('healthy');
    }
    return true;
  }

  #failed(err: unknown): void {
    this.stats.failed++;
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    this.#onOutcome?.('failed');
    this.#setState('failing');
  }

  #setState(state: WorkerStats['state']): void {
    if (this.stats.state === state) return;
    this.stats.state = state;
    if (state === 'failing') this.#deps.logger.warn('connector failing', { connector: this.#def.id, lastError: this.stats.lastError });
    else this.#deps.logger.info('connector healthy again', { connector: this.#def.id });
  }
}
