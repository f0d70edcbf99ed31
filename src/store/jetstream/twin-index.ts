/**
 * The node-local index of every twin in the stream: ids in order (for listing) and the pending
 * index (out-of-sync twins, oldest first). An ordered consumer feeds it, starting from each
 * subject's last record and then following every new record, so each node's index converges on
 * the stream without any node writing a second copy.
 *
 * Reads wait on a barrier first: the stream's last sequence, taken when the read begins, must be
 * applied here. So a listing sees every write acknowledged before the request began, whichever
 * node wrote it.
 */
import sortedBtree from 'sorted-btree';
import type BTreeClass from 'sorted-btree';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { DoppelError } from '../../errors.ts';
import type { Connected } from './connection.ts';
import { twinIdOfSubject } from './names.ts';
import { indexEntryOf } from './record.ts';
import type { IndexEntry } from './record.ts';

// sorted-btree is CommonJS with an `__esModule` default: Node's ESM loader hands over the whole
// module (the class is its `default`), bundlers like Vite the class itself.
const BTree: typeof BTreeClass.default = typeof sortedBtree === 'function' ? sortedBtree : sortedBtree.default;

interface Waiter { seq: number; resolve: () => void }

export class TwinIndex {
  /** Ids of twins that have a snapshot. */
  readonly #twins = new BTree<string, true>();
  /** Ids with any record still meaningful (snapshot, pending entry or history): for backups. */
  readonly #subjects = new Set<string>();
  /** `${since}!${id}` → entry: ISO timestamps sort by time, ids never hold `!`. */
  readonly #pending = new BTree<string, { twin: string; since: string }>();
  readonly #pendingOf = new Map<string, string>();
  /** Ids whose latest record holds command records. */
  readonly #commands = new Set<string>();
  /** Job id → twins whose latest record holds that job's done-mark; and each twin's marks. */
  readonly #marked = new Map<string, Set<string>>();
  readonly #marksOf = new Map<string, string[]>();
  #applied = 0;
  #waiters: Waiter[] = [];
  #messages: ConsumerMessages | null = null;

  /** Starts following the stream (call once). */
  async start(c: Connected): Promise<void> {
    // Headers only: the index needs the record's projection (record.ts `indexHeadersOf`), never
    // the snapshot, so following every write costs each node a few dozen bytes per write.
    const consumer = await c.js.consumers.get(c.names.stream, {
      filter_subjects: `${c.names.twinSubjects}>`, deliver_policy: DeliverPolicy.LastPerSubject, headers_only: true,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    void (async () => {
      for await (const m of messages) {
        this.#apply(twinIdOfSubject(c.names, m.subject), m.seq, indexEntryOf((name) => m.headers?.get(name) ?? ''));
      }
    })().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.#messages?.close().catch(() => undefined);
    this.#messages = null;
  }

  #apply(id: string, seq: number, record: IndexEntry): void {
    if (!record.exists) this.#twins.delete(id);
    else this.#twins.set(id, true);
    if (record.commands) this.#commands.add(id);
    else this.#commands.delete(id);
    this.#setMarks(id, record.jobMarks);
    if (record.reset) this.#subjects.delete(id);
    else this.#subjects.add(id);
    const was = this.#pendingOf.get(id);
    if (was !== record.pending) {
      if (was !== undefined) { this.#pending.delete(`${was}!${id}`); this.#pendingOf.delete(id); }
      if (record.pending !== null) { this.#pending.set(`${record.pending}!${id}`, { twin: id, since: record.pending }); this.#pendingOf.set(id, record.pending); }
    }
    this.#applied = Math.max(this.#applied, seq);
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => w.seq <= this.#applied);
      this.#waiters = this.#waiters.filter((w) => w.seq > this.#applied);
      for (const w of ready) w.resolve();
    }
  }

  #setMarks(id: string, jobs: string[]): void {
    for (const job of this.#marksOf.get(id) ?? []) {
      const twins = this.#marked.get(job);
      twins?.delete(id);
      if (twins?.size === 0) this.#marked.delete(job);
    }
    if (jobs.length === 0) { this.#marksOf.delete(id); return; }
    this.#marksOf.set(id, jobs);
    for (const job of jobs) {
      const twins = this.#marked.get(job) ?? new Set<string>();
      twins.add(id);
      this.#marked.set(job, twins);
    }
  }

  /** Resolves once every record up to `seq` is applied; `unavailable` after `timeoutMs`. */
  async barrier(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.#applied) return;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { seq, resolve: () => { clearTimeout(timer); resolve(); } };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new DoppelError('unavailable', `Storage unavailable: the twin index is behind the stream (at ${this.#applied}, need ${seq})`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Twin ids in order, after `after` (exclusive), starting with `prefix`. */
  *ids(opts: { prefix?: string; after?: string }): Iterable<string> {
    const prefix = opts.prefix ?? '';
    const from = opts.after !== undefined && opts.after >= prefix ? opts.after : prefix;
    for (const [id] of this.#twins.entries(from)) {
      if (id === opts.after) continue;
      if (!id.startsWith(prefix)) return;
      yield id;
    }
  }

  /** Every id whose subject holds anything, in order. */
  subjects(): string[] { return [...this.#subjects].sort(); }

  /** Ids of twins holding command records, in order. */
  commandTwins(): string[] { return [...this.#commands].sort(); }

  /** Twins holding a done-mark of `job`, in order. */
  jobMarks(job: string): string[] { return [...this.#marked.get(job) ?? []].sort(); }

  /** Jobs with a done-mark on any twin. */
  markedJobs(): string[] { return [...this.#marked.keys()]; }

  get pendingCount(): number { return this.#pending.size; }

  oldestPending(): { twin: string; since: string } | undefined {
    const first = this.#pending.minKey();
    return first === undefined ? undefined : { ...this.#pending.get(first)! };
  }
}
