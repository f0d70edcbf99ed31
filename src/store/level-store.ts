/**
 * @module
 * The production store: LevelDB (via `level`) with CBOR values and group commit. This class keeps
 * the store's life cycle (open, close, and which calls each state allows) and assembles its parts:
 * `level-open.ts` opens the database and checks its format, `level-write.ts` encodes commits and
 * writes a batch, `group-commit.ts` gathers concurrent commits into shared batches,
 * `level-reads.ts` answers reads and `level-backup.ts` snapshots and restores whole stores.
 */
import { DoppelError, fail } from '../errors.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { Command } from '../twin/commands.ts';
import type { Job } from '../job/types.ts';
import { GroupCommitWriter } from './group-commit.ts';
import type { EncodedCommit } from './group-commit.ts';
import { snapshotRecords } from './level-backup.ts';
import { openLevel } from './level-open.ts';
import type { LevelDb } from './level-open.ts';
import { LevelReads } from './level-reads.ts';
import { encodeOps, writeBatchOf } from './level-write.ts';
import type { LevelOp } from './level-write.ts';
import { closedError, reasonOf } from './store-errors.ts';
import type { BatchStats, CredentialOf, OutboxEntry, StoreOp, StoredConnector, StoredCredential, TwinStore } from './types.ts';

export { restoreStore } from './level-backup.ts';

export interface LevelStoreOptions {
  /** Directory of the database; created if missing. */
  path: string;
  /** fsync every batch, so a commit survives power loss and not only a process crash. */
  sync?: boolean;
  /** Most ops in one physical batch (default 2000). A larger single commit still goes out whole. */
  maxBatchOps?: number;
  /** For tests only: fault injection into the write path. Never set in production. */
  testHooks?: LevelStoreTestHooks;
}

/** Test-only seams. */
export interface LevelStoreTestHooks {
  /** Runs before each physical batch; throwing or rejecting fails that batch like a write error. */
  beforeBatch?: (ops: number) => void | Promise<void>;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

export const DEFAULT_MAX_BATCH_OPS = 2000;
/**
 * With fsync, the longest pause gathering the next batch (group-commit.ts): a fraction of one
 * fdatasync (1.1–2.4 ms on the reference VM), and Node's shortest timer.
 */
export const GATHER_MS = 1;

/**
 * Creates a LevelDB-backed store. Call `open()` before use and `close()` on shutdown.
 *
 * @example
 * ```ts
 * const store = createLevelStore({ path: './data/db', sync: true });
 * await store.open();
 * await store.commit([{ type: 'putTwin', twin }, { type: 'putEvent', event }]);
 * await store.close();
 * ```
 */
export function createLevelStore(opts: LevelStoreOptions): TwinStore {
  return new LevelStore(opts);
}

class LevelStore implements TwinStore {
  onBatch?: (stats: BatchStats) => void;

  readonly #path: string;
  readonly #sync: boolean;
  readonly #maxBatchOps: number;
  readonly #hooks: LevelStoreTestHooks | undefined;
  #db: LevelDb | undefined;
  /** Made when `#db` opens, with the batch write on it resolved then (see writeBatchOf). */
  #commits: GroupCommitWriter<LevelOp> | undefined;
  readonly #readableDb = (): LevelDb => this.#readable();
  readonly #reads = new LevelReads(this.#readableDb);
  #state: State = 'new';
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: LevelStoreOptions) {
    this.#path = opts.path;
    this.#sync = opts.sync ?? false;
    this.#maxBatchOps = opts.maxBatchOps ?? DEFAULT_MAX_BATCH_OPS;
    this.#hooks = opts.testHooks;
    if (!Number.isInteger(this.#maxBatchOps) || this.#maxBatchOps < 1) {
      throw fail('invalid_request', `Store option "maxBatchOps" must be a positive integer: got ${opts.maxBatchOps}`);
    }
  }

  open(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'opening' && this.#opening) return this.#opening;
    if (this.#state !== 'new') return Promise.reject(closedError());
    this.#state = 'opening';
    this.#opening = openLevel(this.#path).then(
      // A close() that arrived meanwhile wins: it closes this db once the open settles.
      (db) => {
        this.#db = db;
        this.#commits = new GroupCommitWriter({ write: writeBatchOf(db), sync: this.#sync, maxBatchOps: this.#maxBatchOps, hooks: this.#hooks, stats: this, gatherMs: this.#sync ? GATHER_MS : 0 });
        if (this.#state === 'opening') this.#state = 'open';
      },
      (err: unknown) => { if (this.#state === 'opening') this.#state = 'new'; throw err; },
    );
    return this.#opening;
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasOpening = this.#opening;
    this.#state = 'closing';
    this.#closing = (async () => {
      await wasOpening?.catch(() => undefined);
      // The writer loop only stops once the queue is empty, and nothing joins the queue now.
      await this.#commits?.idle;
      try {
        await this.#db?.close();
      } catch (err) {
        throw new DoppelError('unavailable', `Storage close failed: ${reasonOf(err)}`, { cause: err });
      } finally {
        this.#state = 'closed';
      }
    })();
    return this.#closing;
  }

  commit(ops: StoreOp[]): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#notUsable());
    let encoded: EncodedCommit<LevelOp>;
    try {
      // Encoding now snapshots the documents: a caller mutating them after `commit` returns
      // cannot change what is written, and a bad op fails its own commit, not a whole batch.
      encoded = encodeOps(ops);
    } catch (err) {
      return Promise.reject(err);
    }
    // Set whenever the state is 'open': it is made in the same step that opens the store.
    return this.#commits!.add(encoded);
  }

  getTwin(id: string): Promise<TwinState | undefined> {
    return this.#reads.getTwin(id);
  }

  deleteTwinOps(id: string): Promise<StoreOp[]> {
    return this.#reads.deleteTwinOps(id);
  }

  commandTwins(): Promise<string[]> {
    return this.#reads.commandTwins();
  }

  readCommands(id: string): Promise<Command[]> {
    return this.#reads.readCommands(id);
  }

  getJob(id: string): Promise<Job | undefined> { return this.#reads.getJob(id); }
  listJobs(): Promise<Job[]> { return this.#reads.listJobs(); }
  hasJobMark(job: string, twin: string): Promise<boolean> { return this.#reads.hasJobMark(job, twin); }
  jobMarks(job: string): Promise<string[]> { return this.#reads.jobMarks(job); }

  listConnectors(): Promise<StoredConnector[]> {
    return this.#reads.listConnectors();
  }

  readOutbox(connector: string, limit: number, after?: number): Promise<OutboxEntry[]> {
    return this.#reads.readOutbox(connector, limit, after);
  }

  lastOutboxSeq(connector: string): Promise<number> {
    return this.#reads.lastOutboxSeq(connector);
  }

  listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState> {
    return this.#reads.listTwins(opts);
  }

  readHistory(id: string, opts: { after: number; limit: number }): Promise<ChangeEvent[]> {
    return this.#reads.readHistory(id, opts);
  }

  getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    return this.#reads.getCredential(kind, id);
  }

  listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    return this.#reads.listCredentials(kind);
  }

  records(): AsyncIterable<{ key: string; value: Uint8Array }> {
    return snapshotRecords(this.#readableDb);
  }

  countPending(): Promise<number> {
    return this.#reads.countPending();
  }

  oldestPending(): Promise<{ twin: string; since: string } | undefined> {
    return this.#reads.oldestPending();
  }

  #readable(): LevelDb {
    if (this.#state !== 'open' || this.#db === undefined) throw this.#notUsable();
    return this.#db;
  }

  #notUsable(): DoppelError {
    return this.#state === 'closing' || this.#state === 'closed' ? closedError() : fail('unavailable', 'Store is not open');
  }
}
