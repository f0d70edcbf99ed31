/**
 * @module
 * A connector's outbox read back from disk into memory, for when the live hand-off cannot carry
 * the events: at start (a backlog from before), and after memory was full. Reads go in seq order
 * from a cursor, so twins behind a blocked twin's long backlog are reached (a read from the start
 * each time would return the blocked twin's events again and again).
 *
 * A pass reads from its start to the outbox's end, holding each event unless memory already knows
 * it. When a twin's lane is full its later events are left out of the pass (order per twin), and
 * another pass follows from the first event left out: as soon as a twin left out has emptied its
 * lane, else after a pause (a twin that keeps failing is not read again and again). A pass that left nothing out and saw no commit land meanwhile
 * ends the reading: the worker goes live, taking only seqs above the last one read (lower ones
 * were read: commits land in seq order, see worker.ts).
 */
import type { OutboxEntry, TwinStore } from '../store/types.ts';
import type { PendingEvents } from './pending.ts';

/** Entries per read. */
const READ_BATCH = 512;
/** Twins left out in one pass at most: past that the pass ends early and a new one starts later. */
const MAX_LEFT_OUT = 10_000;
/** Pause before a new pass, at least, and as a multiple of the last pass's duration. */
const PASS_PAUSE_MS = 1000;
const PASS_PAUSE_FACTOR = 4;

export class DiskReader {
  readonly #connector: string;
  readonly #store: TwinStore;
  readonly #pending: PendingEvents;
  /** Reading from disk; false while live. At start the outbox may hold a backlog. */
  #reading = true;
  /** The last seq this pass has read (-1: from the start). */
  #cursor = -1;
  /** Live, only seqs above this are taken: the others were read from disk. */
  #liveAbove = -1;
  /** Twins whose events this pass left out, and the first seq it left out (the next pass starts there). */
  readonly #leftOut = new Set<string>();
  #firstLeftOut = -1;
  /** A twin left out has emptied its lane since: the next pass need not wait for its pause. */
  #leftOutDrained = false;
  /** This pass left events out: another pass must follow, not before `#nextPassAt` (0: not set yet). */
  #incomplete = false;
  /** This pass stopped early (too many twins left out): nothing more is read until the next one. */
  #stopped = false;
  #nextPassAt = 0;
  #passStartedAt = 0;
  /** Events committed while reading, left to the reads, and the highest seq among them. */
  #refused = 0;
  #maxRefused = -1;
  /** `#refused` when an incomplete pass last reached the end: no read is needed until it changes. */
  #refusedAtEnd = -1;

  constructor(connector: string, store: TwinStore, pending: PendingEvents) {
    this.#connector = connector;
    this.#store = store;
    this.#pending = pending;
  }

  get reading(): boolean { return this.#reading; }

  /** Whether a committed entry goes to memory now (live); false while reading (then call `refused`). */
  takesLive(entry: OutboxEntry): boolean {
    return !this.#reading && entry.seq > this.#liveAbove;
  }

  /** Live, memory refused an entry: it stays on disk, read back from just above what was read before. */
  spilled(seq: number): void {
    this.#reading = true;
    this.#newPass(Date.now(), this.#liveAbove);
    this.refused(seq);
  }

  /** The worker emptied a twin's lane: if this pass left that twin out, the next pass may start now. */
  drained(twin: string): void {
    if (this.#leftOut.has(twin)) this.#leftOutDrained = true;
  }

  /** While reading, an entry was committed: the reads will find it. */
  refused(seq: number): void {
    this.#refused++;
    if (seq > this.#maxRefused) this.#maxRefused = seq;
  }

  /**
   * One read after the cursor, holding what fits. True when another read should follow at once;
   * false when memory is full, the pass must pause, or reading ended (live again).
   */
  async step(now: number): Promise<boolean> {
    if (!this.#reading) return false;
    if (this.#nextPassAt !== 0 && (now >= this.#nextPassAt || this.#leftOutDrained)) this.#newPass(now, this.#firstLeftOut - 1);
    if (this.#stopped || this.#refused === this.#refusedAtEnd) return false;
    const refusedBefore = this.#refused;
    const entries = await this.#store.readOutbox!(this.#connector, READ_BATCH, this.#cursor);
    for (const e of entries) {
      if (e.seq <= this.#cursor) continue;
      // The rest waits for room: the cursor stays before it.
      if (this.#pending.full) return false;
      this.#cursor = e.seq;
      if (this.#leftOut.has(e.twin)) continue;
      if (this.#pending.offer(e)) continue;
      if (!this.#incomplete) this.#firstLeftOut = e.seq;
      this.#incomplete = true;
      if (this.#leftOut.size >= MAX_LEFT_OUT) {
        this.#stopped = true;
        return this.#endPass(now);
      }
      this.#leftOut.add(e.twin);
    }
    // Every refused entry is seen once a read reached its seq (it stays on disk until then).
    if (this.#cursor >= this.#maxRefused) this.#maxRefused = -1;
    if (entries.length === READ_BATCH) return true;
    // Incomplete: until the next pass, later reads only follow new commits (the cursor's tail).
    if (this.#incomplete) {
      this.#refusedAtEnd = refusedBefore;
      return this.#endPass(now);
    }
    // Committed during the read and not seen by it (a seq above the last one read: commits land
    // in seq order, so every lower one committed was visible to it): read again.
    if (this.#maxRefused > this.#cursor) return true;
    this.#reading = false;
    this.#liveAbove = this.#cursor;
    return false;
  }

  /** A new pass from just above seq `from`: everything up to it was read and held or settled. */
  #newPass(now: number, from: number): void {
    this.#cursor = from;
    this.#leftOut.clear();
    this.#firstLeftOut = -1;
    this.#leftOutDrained = false;
    this.#incomplete = false;
    this.#stopped = false;
    this.#nextPassAt = 0;
    this.#refusedAtEnd = -1;
    this.#passStartedAt = now;
  }

  /** The pass reached its end (or stopped) incomplete: the next one starts after a pause that keeps re-reads cheap. */
  #endPass(now: number): boolean {
    if (this.#nextPassAt === 0) this.#nextPassAt = now + Math.max(PASS_PAUSE_MS, PASS_PAUSE_FACTOR * (now - this.#passStartedAt));
    return false;
  }
}
