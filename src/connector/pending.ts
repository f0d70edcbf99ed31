/**
 * @module
 * A connector's undelivered events held in memory, one lane per twin (its events in seq order,
 * its failed attempts and when it may be retried), with a bound on the events held in all and per
 * twin. What does not fit stays in the outbox on disk until the worker reads it (see worker.ts).
 * A lane is forgotten, with its backoff, as soon as it is empty, however it emptied.
 */
import type { OutboxEntry } from '../store/types.ts';

export interface Lane {
  readonly twin: string;
  /** Its events in seq order; the first is the one being (or next to be) delivered. */
  readonly entries: OutboxEntry[];
  /** Failed attempts of its first event so far. */
  attempts: number;
  /** When it may be tried again (ms since the epoch; 0 when not failing). */
  retryAt: number;
  /** Being delivered right now. */
  busy: boolean;
}

export interface PendingLimits { maxEntries: number; maxPerTwin: number }

export class PendingEvents {
  readonly #limits: PendingLimits;
  readonly #lanes = new Map<string, Lane>();
  /** Lanes that may be tried now, in the order they became ready. */
  readonly #ready = new Set<Lane>();
  /** Lanes waiting for their `retryAt`. */
  readonly #waiting = new Set<Lane>();
  /** Seqs held here or delivered and not yet deleted from the outbox: a read of the outbox skips them. */
  readonly #known = new Set<number>();
  #size = 0;

  constructor(limits: PendingLimits) {
    this.#limits = limits;
  }

  /** Events held (being delivered included). */
  get size(): number { return this.#size; }

  get full(): boolean { return this.#size >= this.#limits.maxEntries; }

  get readyCount(): number { return this.#ready.size; }

  /** Whether `seq` is held here or delivered and awaiting its deletion. */
  knows(seq: number): boolean { return this.#known.has(seq); }

  /**
   * Holds `entry` at the end of its twin's lane; false (nothing held) when there is no room. A
   * twin may hold `maxPerTwin` events, or a quarter of the free room when that is more: one twin's
   * long backlog drains in few reads of the outbox, and never crowds out the others.
   */
  offer(entry: OutboxEntry): boolean {
    if (this.#known.has(entry.seq)) return true;
    let lane = this.#lanes.get(entry.twin);
    if (this.full) return false;
    if (lane !== undefined && lane.entries.length >= Math.max(this.#limits.maxPerTwin, (this.#limits.maxEntries - this.#size) >> 2)) return false;
    if (lane === undefined) {
      lane = { twin: entry.twin, entries: [], attempts: 0, retryAt: 0, busy: false };
      this.#lanes.set(entry.twin, lane);
      this.#ready.add(lane);
    }
    lane.entries.push(entry);
    this.#known.add(entry.seq);
    this.#size++;
    return true;
  }

  /** The next ready lane, marked busy; undefined when none is ready. */
  take(): Lane | undefined {
    for (const lane of this.#ready) {
      this.#ready.delete(lane);
      lane.busy = true;
      return lane;
    }
    return undefined;
  }

  /** The lane's first event is settled (delivered or dropped); its seq stays known until `deleted`. */
  shift(lane: Lane): void {
    lane.entries.shift();
    lane.attempts = 0;
    lane.retryAt = 0;
    this.#size--;
  }

  /** Its delivery turn ended: forgotten when empty (true), else ready again or waiting for its retry. */
  release(lane: Lane): boolean {
    lane.busy = false;
    if (lane.entries.length === 0) {
      this.#lanes.delete(lane.twin);
      return true;
    }
    if (lane.retryAt > 0) this.#waiting.add(lane);
    else this.#ready.add(lane);
    return false;
  }

  /** Moves lanes whose retry time has come to the ready ones; answers the next retry time, if any. */
  promote(now: number): number | null {
    let next: number | null = null;
    for (const lane of this.#waiting) {
      if (lane.retryAt <= now) {
        this.#waiting.delete(lane);
        this.#ready.add(lane);
      } else if (next === null || lane.retryAt < next) {
        next = lane.retryAt;
      }
    }
    return next;
  }

  /** The outbox entries with these seqs are deleted: a later read may not see them anyway. */
  deleted(seqs: readonly number[]): void {
    for (const seq of seqs) this.#known.delete(seq);
  }

  /** When the oldest event held was written (ms), or null when none is held. */
  oldestAt(): number | null {
    let oldest: number | null = null;
    for (const lane of this.#lanes.values()) {
      const first = lane.entries[0];
      if (first === undefined) continue;
      const at = Date.parse(first.at);
      if (oldest === null || at < oldest) oldest = at;
    }
    return oldest;
  }

  /** Twins with a lane (for tests: a lane must not outlive its events). */
  get twins(): number { return this.#lanes.size; }
}
