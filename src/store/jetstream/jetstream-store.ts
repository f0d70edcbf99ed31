/**
 * A `TwinStore` on NATS JetStream, for cluster mode: every node reads and writes the same stream,
 * which holds the state of record with R replicas.
 *
 * - A commit writes ONE record per twin it touches (record.ts): new snapshot, pending entry,
 *   history bounds and new events together, CAS-appended on the twin's subject (twin-stream.ts).
 *   The sequence a store last read of a twin is the fence for its next append.
 * - Credential ops go to a KV bucket (credentials.ts): puts before the twin records, deletes
 *   after, so a twin never names a credential that is not stored yet.
 * - Command records ride in their twin's record too (its head keeps the twin's commands), so a
 *   command's change is fenced and ordered exactly like a twin change.
 * - Job records go to their own KV bucket (jobs.ts); a job's done-marks ride in the twin records.
 * - Listing and the pending index come from the node-local index (twin-index.ts) behind a read
 *   barrier.
 *
 * Atomic per twin, not across twins or with credentials: see docs/design/cluster.md.
 */
import { DoppelError, fail } from '../../errors.ts';
import type { Job, JobStatus } from '../../job/types.ts';
import type { Command } from '../../twin/commands.ts';
import { isTwinId } from '../../twin/ids.ts';
import type { ChangeEvent, TwinState } from '../../twin/types.ts';
import { checkHistoryQuery, keyWriteOf } from '../keys.ts';
import type { BatchStats, CredentialOf, StoreOp, StoredCredential, TwinStore } from '../types.ts';
import { closeConnection, openConnection, parseStoreOptions } from './connection.ts';
import type { Connected, JetStreamStoreOptions, ResolvedOptions } from './connection.ts';
import { ConnectorBucket } from './connectors.ts';
import { CredentialBucket } from './credentials.ts';
import { exportRecords } from './export-records.ts';
import { eachLimited, groupOps } from './commit-ops.ts';
import type { CredentialOp, JobOp } from './commit-ops.ts';
import { JobBucket } from './jobs.ts';
import { foldHistory, headOf, planRecord } from './record.ts';
import type { TwinHead, TwinOp } from './record.ts';
import { pagedStates } from './list-pages.ts';
import { TwinIndex } from './twin-index.ts';
import { fenced, TwinStream } from './twin-stream.ts';

type Phase = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** An open store's parts. */
interface Conn { c: Connected; stream: TwinStream; credentials: CredentialBucket; jobs: JobBucket; index: TwinIndex }

/** What a store remembers of a twin between its read and its next commit: the fence. */
interface Seen { seq: number; head: TwinHead & { state: null }; exists: boolean }

/** Stands for a snapshot this store did not keep; a commit that would store it is a bug. */
const ELIDED = Object.freeze({}) as TwinState;

/**
 * Creates a JetStream store; `open()` connects and creates the stream and bucket if needed.
 *
 * @example
 * ```ts
 * const store = createJetStreamStore({ servers: ['nats://h1:4222', 'nats://h2:4222'], replicas: 3 });
 * await store.open();
 * ```
 */
export function createJetStreamStore(options: JetStreamStoreOptions): JetStreamStore {
  return new JetStreamStore(parseStoreOptions(options));
}

export class JetStreamStore implements TwinStore {
  onBatch?: (stats: BatchStats) => void;
  /** The lowest stream sequence connectors still need (cluster mode): deletions purge below it only. */
  retainFrom?: () => Promise<number>;

  readonly #o: ResolvedOptions;
  #phase: Phase = 'new';
  #opening: Promise<void> | null = null;
  #conn: Conn | null = null;
  readonly #seen = new Map<string, Seen>();
  /** Per twin subject or credential key, the last commit touching it: commits on it run in order. */
  readonly #chains = new Map<string, Promise<unknown>>();
  #tail: Promise<void> = Promise.resolve();

  constructor(options: ResolvedOptions) { this.#o = options; }

  async open(): Promise<void> {
    if (this.#phase === 'closing' || this.#phase === 'closed') throw fail('unavailable', 'Store is closed');
    if (this.#phase === 'open') return;
    this.#opening ??= this.#connect();
    await this.#opening;
  }

  async #connect(): Promise<void> {
    this.#phase = 'opening';
    try {
      const c = await openConnection(this.#o);
      const index = new TwinIndex();
      const stream = new TwinStream(c, this.#o.timeoutMs);
      this.#conn = { c, stream, credentials: new CredentialBucket(c.credentials, this.#o.timeoutMs), jobs: new JobBucket(c.jobs, this.#o.timeoutMs), index };
      await index.start(c);
      await index.barrier(await stream.lastSequence(), this.#o.timeoutMs * 4);
      this.#phase = 'open';
    } catch (err) {
      await this.#disconnect();
      this.#phase = 'new';
      this.#opening = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#phase === 'closed') return;
    if (this.#phase === 'opening') await this.#opening?.catch(() => undefined);
    this.#phase = 'closing';
    await this.#tail;
    await this.#disconnect();
    this.#phase = 'closed';
  }

  async #disconnect(): Promise<void> {
    const conn = this.#conn;
    this.#conn = null;
    if (conn === null) return;
    await conn.index.stop();
    await closeConnection(conn.c.nc, this.#o.timeoutMs);
  }

  /** The open NATS connection, stream and bucket: for the cluster wiring (src/cluster/). */
  get connected(): Connected { return this.#usable().c; }

  /** Fails with `unavailable` unless the twin stream answers with a leader (a JetStream quorum). */
  async probe(): Promise<void> { await this.#usable().stream.lastSequence(); }

  /** Forgets what was read of a twin (its actor passivated): its next commit reads it afresh. */
  release(id: string): void { this.#seen.delete(id); }

  async getTwin(id: string): Promise<TwinState | undefined> {
    const { stream } = this.#usable();
    if (!isTwinId(id)) return undefined;
    const read = await stream.head(id);
    this.#remember(id, read.seq, read.head);
    return read.head.state ?? undefined;
  }

  #remember(id: string, seq: number, head: TwinHead): void {
    const known = this.#seen.get(id);
    // A read that raced a newer commit of ours must not move the fence back.
    if (known !== undefined && known.seq > seq) return;
    this.#seen.set(id, { seq, head: { ...head, state: null }, exists: head.state !== null });
  }

  commit(ops: StoreOp[]): Promise<void> {
    let twins: Map<string, TwinOp[]>;
    let credentials: Map<string, CredentialOp>;
    let jobs: Map<string, JobOp>;
    try {
      this.#usable();
      for (const op of ops) keyWriteOf(op); // the same validation as LevelDB's key layout
      ({ twins, credentials, jobs } = groupOps(structuredClone(ops)));
    } catch (err) {
      return Promise.reject(err);
    }
    const keys = [...[...twins.keys()].map((id) => `t:${id}`), ...credentials.keys(), ...[...jobs.keys()].map((id) => `j:${id}`)];
    const before = Promise.allSettled(keys.map((k) => this.#chains.get(k)));
    const started = performance.now();
    const run = before.then(() => this.#write(twins, credentials, jobs));
    const settled = run.then(() => undefined, () => undefined);
    for (const k of keys) {
      this.#chains.set(k, settled);
      void settled.then(() => { if (this.#chains.get(k) === settled) this.#chains.delete(k); });
    }
    // Commits resolve in call order, as LevelDB's group commit resolves them.
    const done = Promise.allSettled([run, this.#tail]).then(([result]) => {
      const failed = result.status === 'rejected';
      try {
        this.onBatch?.({ commits: 1, ops: ops.length, bytes: failed ? 0 : result.value, ms: performance.now() - started, failed });
      } catch {
        // A metrics hook must never fail a commit.
      }
      if (failed) throw result.reason;
    });
    this.#tail = done.then(() => undefined, () => undefined);
    return done;
  }

  async #write(twins: Map<string, TwinOp[]>, credentials: Map<string, CredentialOp>, jobs: Map<string, JobOp>): Promise<number> {
    const conn = this.#conn;
    if (conn === null) throw fail('unavailable', 'Store is closed');
    let bytes = 0;
    const creds = [...credentials.values()];
    await eachLimited(creds.filter((op) => op.type === 'putCredential'), async (op) => { bytes += await conn.credentials.put(op.credential); });
    await eachLimited([...twins], async ([id, twinOps]) => { bytes += await this.#writeTwin(conn.stream, id, twinOps); });
    await eachLimited(creds.filter((op) => op.type === 'deleteCredential'), (op) => conn.credentials.delete(op.kind, op.id));
    await eachLimited([...jobs.values()], async (op) => { bytes += op.type === 'putJob' ? await conn.jobs.put(op.job) : (await conn.jobs.delete(op.id), 0); });
    return bytes;
  }

  async #writeTwin(stream: TwinStream, id: string, ops: TwinOp[]): Promise<number> {
    const seen = this.#seen.get(id);
    const setsState = ops.some((op) => op.type === 'putTwin' || op.type === 'deleteTwin');
    let seq: number;
    let head: TwinHead;
    if (seen !== undefined && setsState) {
      ({ seq } = seen);
      head = { ...seen.head, state: seen.exists ? ELIDED : null };
    } else {
      // The snapshot is carried into the new record, so read it — at the fenced sequence.
      ({ seq, head } = await stream.head(id));
      if (seen !== undefined && seen.seq !== seq) throw fenced(id);
    }
    const record = planRecord(head, ops);
    if (record === null) return 0;
    if (record.state === ELIDED) throw new DoppelError('internal', `Cannot commit twin "${id}": its snapshot was not read`, { public: false });
    const bytes = TwinStream.encode(record);
    const written = await stream.append(id, record, bytes, seq);
    this.#remember(id, written, headOf(record));
    // History before a tombstone is dead either way (foldHistory skips it); the purge frees it,
    // but keeps what a connector has yet to deliver (the connectors' outbox: design §11).
    if (record.reset) await stream.purgeDeleted(id, written, this.retainFrom).catch(() => undefined);
    return bytes.length;
  }

  async deleteTwinOps(id: string): Promise<StoreOp[]> {
    const ops: StoreOp[] = [{ type: 'deleteTwin', id }];
    for (const c of await this.readCommands(id)) ops.push({ type: 'deleteCommand', twin: id, id: c.id });
    for (const e of await this.#history(id)) ops.push({ type: 'deleteEvent', twin: id, version: e.version });
    return ops;
  }

  async readCommands(id: string): Promise<Command[]> {
    const { stream } = this.#usable();
    if (!isTwinId(id)) return [];
    return (await stream.head(id)).head.commands ?? [];
  }

  async commandTwins(): Promise<string[]> {
    return (await this.#barrier()).index.commandTwins();
  }

  async *listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState> {
    const { stream, index } = await this.#barrier();
    yield* pagedStates(index.ids(opts), opts.limit ?? Infinity, (id) => stream.head(id), () => this.#usable());
  }

  async readHistory(id: string, opts: { after: number; limit: number }): Promise<ChangeEvent[]> {
    this.#usable();
    checkHistoryQuery(opts.after, opts.limit);
    if (opts.limit === 0) return [];
    return (await this.#history(id)).filter((e) => e.version > opts.after).slice(0, opts.limit);
  }

  async #history(id: string): Promise<ChangeEvent[]> {
    const { stream } = this.#usable();
    if (!isTwinId(id)) return [];
    return foldHistory(await stream.records(id));
  }

  async getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    return this.#usable().credentials.get(kind, id);
  }

  async listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    return this.#usable().credentials.list(kind);
  }

  getJob(id: string): Promise<Job | undefined> { return this.#usable().jobs.get(id); }
  listJobs(): Promise<Job[]> { return this.#usable().jobs.list(); }
  endJob(id: string, status: Exclude<JobStatus, 'running'>, at: Date): Promise<Job> { return this.#usable().jobs.end(id, status, at); }
  /** A leader read of the twin's head: a mark is there exactly when the change it marks is. */
  async hasJobMark(job: string, twin: string): Promise<boolean> { return isTwinId(twin) && ((await this.#usable().stream.head(twin)).head.jobMarks ?? []).includes(job); }
  async jobMarks(job: string): Promise<string[]> { return (await this.#barrier()).index.jobMarks(job); }
  async markedJobs(): Promise<string[]> { return (await this.#barrier()).index.markedJobs(); }

  async *records(): AsyncIterable<{ key: string; value: Uint8Array }> {
    const conn = await this.#barrier();
    const connectors = await (await ConnectorBucket.open(conn.c, this.#o.namespace, this.#o.replicas)).list();
    yield* await exportRecords(conn.index.subjects(), conn.stream, conn.credentials, conn.jobs, connectors);
  }

  async countPending(): Promise<number> { return (await this.#barrier()).index.pendingCount; }
  async oldestPending(): Promise<{ twin: string; since: string } | undefined> { return (await this.#barrier()).index.oldestPending(); }

  /** The connection, once the local index has every record acknowledged before this call. */
  async #barrier(): Promise<Conn> {
    const conn = this.#usable();
    await conn.index.barrier(await conn.stream.lastSequence(), this.#o.timeoutMs);
    return conn;
  }

  #usable(): Conn {
    if (this.#phase === 'open' && this.#conn !== null) return this.#conn;
    throw fail('unavailable', this.#phase === 'closing' || this.#phase === 'closed' ? 'Store is closed' : 'Store is not open');
  }
}
