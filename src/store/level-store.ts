/**
 * @module
 * The production store: LevelDB (via `level`) with CBOR values and group commit.
 *
 * Group commit: `commit` queues its ops; one writer loop sends everything queued as a single
 * batch, and whatever queues up meanwhile goes out as the next batch the moment the current one
 * completes. An idle store writes on the next turn of the event loop (no timer adds latency), a
 * busy one amortizes each write — and with `sync`, each fsync — over every commit waiting for it.
 */
import { Level } from 'level';
import { DoppelError, fail, isDoppelError } from '../errors.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import { decodeValue, encodeValue } from './codec.ts';
import {
  FORMAT_KEY, FORMAT_VERSION, credentialKey, credentialRange, historyRange, keyWriteOf,
  checkHistoryQuery, parsePendingKey, pendingKey, PENDING_RANGE, twinKey, twinRange, versionOfHistoryKey,
} from './keys.ts';
import type { BatchStats, CredentialOf, StoreOp, StoredCredential, TwinStore } from './types.ts';

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

type LevelOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

interface PendingCommit {
  ops: LevelOp[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const DEFAULT_MAX_BATCH_OPS = 2000;

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
  #db: Level<string, Uint8Array> | undefined;
  /** The batch write on `#db`, resolved once it opens (see writeBatchOf). */
  #write: ((ops: LevelOp[], options: { sync: boolean }) => Promise<void>) | undefined;
  #state: State = 'new';
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #queue: PendingCommit[] = [];
  /** The writer loop while one runs; at most one, which is what keeps commits in call order. */
  #writer: Promise<void> | undefined;
  #writing = false;

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
    this.#opening = this.#openDb().then(
      // A close() that arrived meanwhile wins: it closes this db once the open settles.
      (db) => { this.#db = db; this.#write = writeBatchOf(db); if (this.#state === 'opening') this.#state = 'open'; },
      (err: unknown) => { if (this.#state === 'opening') this.#state = 'new'; throw err; },
    );
    return this.#opening;
  }

  async #openDb(): Promise<Level<string, Uint8Array>> {
    // Constructed here, not in the constructor: a Level opens itself on the next tick, and a
    // store that is created but never opened must not take the directory's lock.
    const db = new Level<string, Uint8Array>(this.#path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw new DoppelError('unavailable', `Cannot open store at "${this.#path}": ${reasonOf(err)}`, { cause: err });
    }
    try {
      await this.#checkFormat(db);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw isDoppelError(err) ? err : new DoppelError('unavailable', `Cannot open store at "${this.#path}": ${reasonOf(err)}`, { cause: err });
    }
    return db;
  }

  async #checkFormat(db: Level<string, Uint8Array>): Promise<void> {
    const raw = await db.get(FORMAT_KEY);
    if (raw === undefined) {
      const [anyKey] = await db.keys({ limit: 1 }).all();
      if (anyKey !== undefined) {
        throw fail('unavailable', `Cannot open store at "${this.#path}": it holds data but no format marker, so it is not a Doppel store`);
      }
      await db.put(FORMAT_KEY, encodeValue(FORMAT_VERSION), { sync: true });
      return;
    }
    const format = decodeValue<unknown>(raw);
    if (format === FORMAT_VERSION) return;
    if (format === 1) { await migrateToPendingIndex(db); return; }
    const newer = typeof format === 'number' && format > FORMAT_VERSION;
    throw fail(
      'unavailable',
      newer
        ? `Cannot open store at "${this.#path}": its format ${format} is newer than this Doppel supports (${FORMAT_VERSION}); upgrade Doppel`
        : `Cannot open store at "${this.#path}": unknown format "${String(format)}"`,
      { format, supported: FORMAT_VERSION },
    );
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasOpening = this.#opening;
    this.#state = 'closing';
    this.#closing = (async () => {
      await wasOpening?.catch(() => undefined);
      // The writer loop only stops once the queue is empty, and nothing joins the queue now.
      await this.#writer;
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
    let pending: Omit<PendingCommit, 'resolve' | 'reject'>;
    try {
      // Encoding now snapshots the documents: a caller mutating them after `commit` returns
      // cannot change what is written, and a bad op fails its own commit, not a whole batch.
      pending = encodeOps(ops);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ...pending, resolve, reject });
      // A flag, not the promise: a loop that ends synchronously (a hook that throws at once) would
      // otherwise leave its settled promise behind, and no commit would start a writer again.
      if (!this.#writing) {
        this.#writing = true;
        // The loop starts on the next turn of the event loop, not now: every commit made in this
        // turn (e.g. all the CoAP reports of one burst of datagrams) then shares the first batch,
        // where starting at once would write the first commit alone. Each batch costs a thread
        // pool hand-off and a log write, so this roughly halves the writes under load, for a few
        // µs of latency.
        this.#writer = new Promise<void>((resolve) => setImmediate(() => { this.#writeLoop().then(resolve, resolve); }));
      }
    });
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    const write = this.#write!;
    try {
      while (this.#queue.length > 0) {
        const group = this.#takeBatch();
        const ops = group.length === 1 ? group[0]!.ops : group.flatMap((c) => c.ops);
        let bytes = 0;
        for (const c of group) bytes += c.bytes;
        const started = performance.now();
        let error: DoppelError | undefined;
        try {
          await this.#hooks?.beforeBatch?.(ops.length);
          await write(ops, { sync: this.#sync });
        } catch (err) {
          // LevelDB applies a batch all or nothing, so every commit in it failed whole; the next
          // batch is tried afresh (a transient failure, e.g. a full disk that was cleared, heals).
          error = new DoppelError('unavailable', `Storage write failed: ${reasonOf(err)}`, { cause: err });
        }
        for (const c of group) {
          if (error) c.reject(error);
          else c.resolve();
        }
        this.#report({ commits: group.length, ops: ops.length, bytes, ms: performance.now() - started, failed: error !== undefined });
      }
    } finally {
      this.#writing = false;
    }
  }

  /** Takes the next batch off the queue: whole commits, in order, up to `maxBatchOps`. */
  #takeBatch(): PendingCommit[] {
    let count = 0;
    let n = 0;
    for (const c of this.#queue) {
      if (n > 0 && count + c.ops.length > this.#maxBatchOps) break;
      count += c.ops.length;
      n += 1;
    }
    return this.#queue.splice(0, n);
  }

  #report(stats: BatchStats): void {
    try {
      this.onBatch?.(stats);
    } catch {
      // A metrics hook must never fail or stall writes; its commits are already settled.
    }
  }

  async getTwin(id: string): Promise<TwinState | undefined> {
    const db = this.#readable();
    const raw = await read(() => db.get(twinKey(id)));
    return raw === undefined ? undefined : decodeValue<TwinState>(raw);
  }

  async deleteTwinOps(id: string): Promise<StoreOp[]> {
    const db = this.#readable();
    const ops: StoreOp[] = [{ type: 'deleteTwin', id }];
    // Keys only: a long history's values need not be read just to be deleted.
    const keys = await read(() => db.keys(historyRange(id, -1)).all());
    for (const key of keys) ops.push({ type: 'deleteEvent', twin: id, version: versionOfHistoryKey(key) });
    return ops;
  }

  async *listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState> {
    const db = this.#readable();
    if (opts.limit !== undefined && opts.limit <= 0) return;
    const range = twinRange(opts);
    // The iterator fetches in chunks as we are pulled, so a million twins never sit in memory.
    const it = db.values(opts.limit === undefined ? range : { ...range, limit: opts.limit });
    try {
      while (true) {
        const raw = await read(() => it.next());
        if (raw === undefined) return;
        yield decodeValue<TwinState>(raw);
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async readHistory(id: string, opts: { after: number; limit: number }): Promise<ChangeEvent[]> {
    const db = this.#readable();
    checkHistoryQuery(opts.after, opts.limit);
    if (opts.limit === 0) return [];
    const values = await read(() => db.values({ ...historyRange(id, opts.after), limit: opts.limit }).all());
    return values.map((raw) => decodeValue<ChangeEvent>(raw));
  }

  async getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    const db = this.#readable();
    const raw = await read(() => db.get(credentialKey(kind, id)));
    // The key was derived from the record's kind when it was put, so the record is of `kind`.
    return raw === undefined ? undefined : decodeValue<CredentialOf<K>>(raw);
  }

  async *records(): AsyncIterable<{ key: string; value: Uint8Array }> {
    const db = this.#readable();
    // A LevelDB iterator reads from the snapshot taken when it was created.
    for await (const [key, value] of db.iterator()) yield { key, value };
  }

  async countPending(): Promise<number> {
    const db = this.#readable();
    // The entries' values, not their keys: each value is one byte (`{}`) where a key is ~40, and
    // a million entries, counted at every start while requests are served, cost a third the time.
    const it = db.values({ ...PENDING_RANGE, valueEncoding: 'utf8' });
    let n = 0;
    try {
      for (let batch = await read(() => it.nextv(1000)); batch.length > 0; batch = await read(() => it.nextv(1000))) n += batch.length;
    } finally {
      await it.close().catch(() => undefined);
    }
    return n;
  }

  async oldestPending(): Promise<{ twin: string; since: string } | undefined> {
    const db = this.#readable();
    const [key] = await read(() => db.keys({ ...PENDING_RANGE, limit: 1 }).all());
    return key === undefined ? undefined : parsePendingKey(key);
  }

  async listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    const db = this.#readable();
    // One range per kind: the API keys are few, and listing them must not decode one record per
    // device (200,000 devices cost seconds when they shared a range).
    const values = await read(() => db.values(credentialRange(kind)).all());
    return values.map((raw) => decodeValue<CredentialOf<K>>(raw));
  }

  #readable(): Level<string, Uint8Array> {
    if (this.#state !== 'open' || this.#db === undefined) throw this.#notUsable();
    return this.#db;
  }

  #notUsable(): DoppelError {
    return this.#state === 'closing' || this.#state === 'closed' ? closedError() : fail('unavailable', 'Store is not open');
  }
}

/**
 * Writes a backup's records into a new store at `path`, refusing a directory that already holds
 * one (restore never merges). The records go in batches; the format marker is among them, and
 * `open` afterwards checks (and, for an older backup, migrates) it.
 */
export async function restoreStore(path: string, records: AsyncIterable<{ key: string; value: Uint8Array }>, onProgress?: (written: number) => void): Promise<number> {
  const db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (err) {
    throw new DoppelError('unavailable', `Cannot open "${path}": ${reasonOf(err)}`, { cause: err });
  }
  try {
    const [anyKey] = await db.keys({ limit: 1 }).all();
    if (anyKey !== undefined) throw fail('invalid_request', `"${path}" already holds a store: restore only into an empty data directory`);
    let batch: LevelOp[] = [];
    let written = 0;
    let format = false;
    for await (const r of records) {
      if (r.key === FORMAT_KEY) format = true;
      batch.push({ type: 'put', key: r.key, value: r.value });
      if (batch.length >= 1000) { await db.batch(batch); written += batch.length; batch = []; onProgress?.(written); }
    }
    if (!format) throw fail('invalid_request', 'The backup holds no store format marker');
    await db.batch(batch, { sync: true });
    written += batch.length;
    return written;
  } finally {
    await db.close();
  }
}

/**
 * Format 1 → 2: builds the pending index (`p!…`) from the stored twins. Idempotent, and the format
 * marker is written last, so a crash midway only means the next open runs it again.
 */
async function migrateToPendingIndex(db: Level<string, Uint8Array>): Promise<void> {
  let batch: LevelOp[] = [];
  for await (const raw of db.values(twinRange({}))) {
    const twin = decodeValue<TwinState>(raw);
    if (twin.pendingSince !== null) batch.push({ type: 'put', key: pendingKey(twin.pendingSince, twin.id), value: encodeValue({}) });
    if (batch.length >= 1000) { await db.batch(batch); batch = []; }
  }
  batch.push({ type: 'put', key: FORMAT_KEY, value: encodeValue(FORMAT_VERSION) });
  await db.batch(batch, { sync: true });
}

/**
 * The batch write the writer loop uses. `db.batch()` copies and re-validates every op and runs the
 * encodings and hooks (a tenth of the CoAP update path's CPU in profiles); our ops are already
 * encoded (string keys and byte values, the database's own formats) and unhooked, so the loop
 * calls the implementation's `_batch` (abstract-level's documented implementer API) directly,
 * falling back to `batch` where there is none. The store's own state guards stand in for
 * abstract-level's open check: the loop only runs while the store is open.
 */
function writeBatchOf(db: Level<string, Uint8Array>): (ops: LevelOp[], options: { sync: boolean }) => Promise<void> {
  const impl = db as unknown as { _batch?: (ops: LevelOp[], options: { sync: boolean }) => Promise<void> };
  // Called through the instance each time (not bound once), so the method stays the one in place.
  return typeof impl._batch === 'function' ? (ops, options) => impl._batch!(ops, options) : (ops, options) => db.batch(ops, options);
}

function encodeOps(ops: StoreOp[]): { ops: LevelOp[]; bytes: number } {
  const out: LevelOp[] = new Array(ops.length);
  // Key length in UTF-16 units: exact for our ASCII keys, and only feeds a metric anyway.
  let bytes = 0;
  for (let i = 0; i < ops.length; i++) {
    const w = keyWriteOf(ops[i]!);
    if (w.type === 'put') {
      const value = encodeValue(w.value);
      out[i] = { type: 'put', key: w.key, value };
      bytes += w.key.length + value.byteLength;
    } else {
      out[i] = w;
      bytes += w.key.length;
    }
  }
  return { ops: out, bytes };
}

/** Runs a LevelDB read, turning its failures into `unavailable`. */
async function read<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDoppelError(err)) throw err;
    throw new DoppelError('unavailable', `Storage read failed: ${reasonOf(err)}`, { cause: err });
  }
}

function closedError(): DoppelError {
  return fail('unavailable', 'Store is closed');
}

/** The message of `err` and of its causes: level wraps the useful part ("IO error: lock …"). */
function reasonOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 4; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
