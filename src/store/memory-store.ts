/**
 * @module
 * An in-memory `TwinStore` for unit tests of other modules. It keeps the LevelDB store's key
 * layout and contract — including asynchronous, serialized commits and copy-in/copy-out
 * documents — so code tested against it behaves the same in production.
 */
import { fail } from '../errors.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { Command } from '../twin/commands.ts';
import type { Job } from '../job/types.ts';
import {
  checkHistoryQuery, CONNECTORS_RANGE, outboxRange, commandRange, COMMANDS_RANGE, credentialKey, twinOfCommandKey, credentialRange, historyRange, inRange, keyWriteOf, twinKey, jobKey, JOBS_RANGE, jobIdOfKey, jobMarkKey, jobMarkRange,
  twinRange, versionOfHistoryKey, parsePendingKey, PENDING_RANGE,
} from './keys.ts';
import type { KeyRange, KeyWrite } from './keys.ts';
import { encodeValue } from './codec.ts';
import type { BatchStats, CredentialOf, OutboxEntry, StoreOp, StoredConnector, StoredCredential, TwinStore } from './types.ts';

type State = 'new' | 'open' | 'closing' | 'closed';

/**
 * Creates an empty in-memory store. Like the LevelDB store it must be opened before use.
 *
 * @example
 * ```ts
 * const store = createMemoryStore();
 * await store.open();
 * await store.commit([{ type: 'putTwin', twin }]);
 * ```
 */
export function createMemoryStore(): TwinStore {
  return new MemoryStore();
}

class MemoryStore implements TwinStore {
  onBatch?: (stats: BatchStats) => void;

  #state: State = 'new';
  /** All keys, sorted, so range reads work exactly as LevelDB's do on the same layout. */
  #keys: string[] = [];
  #values = new Map<string, unknown>();
  /** Tail of the commit chain: each commit applies after the one before it. */
  #tail: Promise<void> = Promise.resolve();

  async open(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError();
    this.#state = 'open';
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    await this.#tail;
    this.#state = 'closed';
  }

  commit(ops: StoreOp[]): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#notUsable());
    let writes: KeyWrite[];
    try {
      // Cloned now, as the LevelDB store encodes now: later mutation by the caller is not stored.
      writes = ops.map((op) => {
        const w = keyWriteOf(op);
        return w.type === 'put' ? { ...w, value: structuredClone(w.value) } : w;
      });
    } catch (err) {
      return Promise.reject(err);
    }
    const started = performance.now();
    const done = this.#tail.then(() => {
      for (const w of writes) {
        if (w.type === 'put') this.#put(w.key, w.value);
        else this.#delete(w.key);
      }
      try {
        this.onBatch?.({ commits: 1, ops: writes.length, bytes: 0, ms: performance.now() - started, failed: false });
      } catch {
        // A metrics hook must never fail a commit.
      }
    });
    this.#tail = done.catch(() => undefined);
    return done;
  }

  async getTwin(id: string): Promise<TwinState | undefined> {
    this.#check();
    return this.#get<TwinState>(twinKey(id));
  }

  async deleteTwinOps(id: string): Promise<StoreOp[]> {
    this.#check();
    const ops: StoreOp[] = [{ type: 'deleteTwin', id }];
    for (const key of this.#keysIn(historyRange(id, -1))) ops.push({ type: 'deleteEvent', twin: id, version: versionOfHistoryKey(key) });
    for (const key of this.#keysIn(commandRange(id))) ops.push({ type: 'deleteCommand', twin: id, id: key.slice(key.lastIndexOf('!') + 1) });
    // Its done-marks too, as the other stores: a twin created again under this id is a new twin.
    for (const job of this.#keysIn(JOBS_RANGE).map(jobIdOfKey)) if (this.#get<object>(jobMarkKey(job, id)) !== undefined) ops.push({ type: 'deleteJobMark', job, twin: id });
    return ops;
  }

  async commandTwins(): Promise<string[]> {
    this.#check();
    return [...new Set(this.#keysIn(COMMANDS_RANGE).map(twinOfCommandKey))];
  }

  async readCommands(id: string): Promise<Command[]> {
    this.#check();
    return this.#keysIn(commandRange(id)).map((key) => this.#get<Command>(key) as Command);
  }

  async getJob(id: string): Promise<Job | undefined> {
    this.#check();
    return this.#get<Job>(jobKey(id));
  }

  async listJobs(): Promise<Job[]> {
    this.#check();
    return this.#keysIn(JOBS_RANGE).map((key) => this.#get<Job>(key) as Job);
  }

  async hasJobMark(job: string, twin: string): Promise<boolean> {
    this.#check();
    return this.#get<object>(jobMarkKey(job, twin)) !== undefined;
  }

  async jobMarks(job: string): Promise<string[]> {
    this.#check();
    return this.#keysIn(jobMarkRange(job)).map((key) => key.slice(key.lastIndexOf('!') + 1));
  }

  async *listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState> {
    this.#check();
    let left = opts.limit ?? Infinity;
    // Resumes from the last key yielded rather than an index, so commits between pulls cannot
    // make the listing skip or repeat a twin.
    let range = twinRange(opts);
    while (left > 0) {
      this.#check();
      const [key] = this.#keysIn(range, 1);
      if (key === undefined) return;
      left -= 1;
      yield this.#get<TwinState>(key) as TwinState;
      range = { gt: key, lt: range.lt };
    }
  }

  async readHistory(id: string, opts: { after: number; limit: number }): Promise<ChangeEvent[]> {
    this.#check();
    checkHistoryQuery(opts.after, opts.limit);
    return this.#keysIn(historyRange(id, opts.after), opts.limit).map((key) => this.#get<ChangeEvent>(key) as ChangeEvent);
  }

  async getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    this.#check();
    return this.#get<CredentialOf<K>>(credentialKey(kind, id));
  }

  async *records(): AsyncIterable<{ key: string; value: Uint8Array }> {
    this.#check();
    // Encoded up front: the snapshot is the moment of the call, as with a LevelDB iterator.
    const snapshot = this.#keys.map((key) => ({ key, value: encodeValue(this.#values.get(key)) }));
    yield* snapshot;
  }

  async listConnectors(): Promise<StoredConnector[]> {
    this.#check();
    return this.#keysIn(CONNECTORS_RANGE).map((key) => this.#get<StoredConnector>(key) as StoredConnector);
  }

  async readOutbox(connector: string, limit: number, after?: number): Promise<OutboxEntry[]> {
    this.#check();
    return this.#keysIn(outboxRange(connector, after), limit).map((key) => this.#get<OutboxEntry>(key) as OutboxEntry);
  }

  async lastOutboxSeq(connector: string): Promise<number> {
    this.#check();
    const keys = this.#keysIn(outboxRange(connector));
    const last = keys[keys.length - 1];
    return last === undefined ? -1 : (this.#get<OutboxEntry>(last) as OutboxEntry).seq;
  }

  async countPending(): Promise<number> {
    this.#check();
    return this.#keysIn(PENDING_RANGE).length;
  }

  async oldestPending(): Promise<{ twin: string; since: string } | undefined> {
    this.#check();
    const [key] = this.#keysIn(PENDING_RANGE, 1);
    return key === undefined ? undefined : parsePendingKey(key);
  }

  async listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    this.#check();
    return this.#keysIn(credentialRange(kind)).map((key) => this.#get<CredentialOf<K>>(key) as CredentialOf<K>);
  }

  #get<T>(key: string): T | undefined {
    const value = this.#values.get(key);
    return value === undefined ? undefined : structuredClone(value) as T;
  }

  #put(key: string, value: unknown): void {
    if (!this.#values.has(key)) this.#keys.splice(lowerBound(this.#keys, key), 0, key);
    this.#values.set(key, value);
  }

  #delete(key: string): void {
    if (!this.#values.delete(key)) return;
    this.#keys.splice(lowerBound(this.#keys, key), 1);
  }

  #keysIn(range: KeyRange, limit = Infinity): string[] {
    const out: string[] = [];
    let i = lowerBound(this.#keys, range.gt ?? range.gte ?? '');
    for (; i < this.#keys.length && out.length < limit; i++) {
      const key = this.#keys[i]!;
      if (!inRange(key, range)) {
        if (key >= range.lt) break;
        continue; // only the `gt` key itself
      }
      out.push(key);
    }
    return out;
  }

  #check(): void {
    if (this.#state !== 'open') throw this.#notUsable();
  }

  #notUsable(): Error {
    return this.#state === 'closing' || this.#state === 'closed' ? closedError() : fail('unavailable', 'Store is not open');
  }
}

/** Index of the first key ≥ `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function closedError(): Error {
  return fail('unavailable', 'Store is closed');
}
