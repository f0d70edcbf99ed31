/**
 * @module
 * The reads of the LevelDB store: twins, their history, credentials, the twin listing and the
 * pending index. Each read asks for the database first thing (the store's accessor throws when it
 * is not open), so that failure, like a storage one, arrives as a rejection.
 */
import { DoppelError, isDoppelError } from '../errors.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { Command } from '../twin/commands.ts';
import type { Job } from '../job/types.ts';
import { decodeValue } from './codec.ts';
import {
  checkHistoryQuery, CONNECTORS_RANGE, outboxRange, commandRange, COMMANDS_RANGE, credentialKey, twinOfCommandKey, credentialRange, historyRange, parsePendingKey, PENDING_RANGE, twinKey, twinRange,
  versionOfHistoryKey, jobKey, JOBS_RANGE, jobIdOfKey, jobMarkKey, jobMarkRange,
} from './keys.ts';
import type { LevelDb } from './level-open.ts';
import { reasonOf } from './store-errors.ts';
import type { CredentialOf, OutboxEntry, StoreOp, StoredConnector, StoredCredential } from './types.ts';

export class LevelReads {
  readonly #db: () => LevelDb;

  /** `db` answers the open database or throws why there is none. */
  constructor(db: () => LevelDb) {
    this.#db = db;
  }

  async getTwin(id: string): Promise<TwinState | undefined> {
    const db = this.#db();
    const raw = await read(() => db.get(twinKey(id)));
    return raw === undefined ? undefined : decodeValue<TwinState>(raw);
  }

  async deleteTwinOps(id: string): Promise<StoreOp[]> {
    const db = this.#db();
    const ops: StoreOp[] = [{ type: 'deleteTwin', id }];
    // Keys only: a long history's values need not be read just to be deleted.
    const keys = await read(() => db.keys(historyRange(id, -1)).all());
    for (const key of keys) ops.push({ type: 'deleteEvent', twin: id, version: versionOfHistoryKey(key) });
    const commands = await read(() => db.keys(commandRange(id)).all());
    for (const key of commands) ops.push({ type: 'deleteCommand', twin: id, id: key.slice(key.lastIndexOf('!') + 1) });
    // Its done-marks too (as the JetStream store, where they live in the twin's record): a twin
    // created again under this id is a new twin, which a job still running has not changed.
    const jobs = await read(() => db.keys(JOBS_RANGE).all());
    for (const job of jobs.map(jobIdOfKey)) if (await this.hasJobMark(job, id)) ops.push({ type: 'deleteJobMark', job, twin: id });
    return ops;
  }

  async commandTwins(): Promise<string[]> {
    const db = this.#db();
    const keys = await read(() => db.keys(COMMANDS_RANGE).all());
    return [...new Set(keys.map(twinOfCommandKey))];
  }

  async readCommands(id: string): Promise<Command[]> {
    const db = this.#db();
    const values = await read(() => db.values(commandRange(id)).all());
    return values.map((raw) => decodeValue<Command>(raw));
  }

  async getJob(id: string): Promise<Job | undefined> {
    const db = this.#db();
    const raw = await read(() => db.get(jobKey(id)));
    return raw === undefined ? undefined : decodeValue<Job>(raw);
  }

  async listJobs(): Promise<Job[]> {
    const db = this.#db();
    const values = await read(() => db.values(JOBS_RANGE).all());
    return values.map((raw) => decodeValue<Job>(raw));
  }

  async hasJobMark(job: string, twin: string): Promise<boolean> {
    const db = this.#db();
    return (await read(() => db.get(jobMarkKey(job, twin)))) !== undefined;
  }

  async jobMarks(job: string): Promise<string[]> {
    const db = this.#db();
    const keys = await read(() => db.keys(jobMarkRange(job)).all());
    return keys.map((key) => key.slice(key.lastIndexOf('!') + 1));
  }

  async *listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState> {
    const db = this.#db();
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
    const db = this.#db();
    checkHistoryQuery(opts.after, opts.limit);
    if (opts.limit === 0) return [];
    const values = await read(() => db.values({ ...historyRange(id, opts.after), limit: opts.limit }).all());
    return values.map((raw) => decodeValue<ChangeEvent>(raw));
  }

  async getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    const db = this.#db();
    const raw = await read(() => db.get(credentialKey(kind, id)));
    // The key was derived from the record's kind when it was put, so the record is of `kind`.
    return raw === undefined ? undefined : decodeValue<CredentialOf<K>>(raw);
  }

  async listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    const db = this.#db();
    // One range per kind: the API keys are few, and listing them must not decode one record per
    // device (200,000 devices cost seconds when they shared a range).
    const values = await read(() => db.values(credentialRange(kind)).all());
    return values.map((raw) => decodeValue<CredentialOf<K>>(raw));
  }

  async listConnectors(): Promise<StoredConnector[]> {
    const db = this.#db();
    const values = await read(() => db.values(CONNECTORS_RANGE).all());
    return values.map((raw) => decodeValue<StoredConnector>(raw));
  }

  async readOutbox(connector: string, limit: number, after?: number): Promise<OutboxEntry[]> {
    const db = this.#db();
    const values = await read(() => db.values({ ...outboxRange(connector, after), limit }).all());
    return values.map((raw) => decodeValue<OutboxEntry>(raw));
  }

  async lastOutboxSeq(connector: string): Promise<number> {
    const db = this.#db();
    const [raw] = await read(() => db.values({ ...outboxRange(connector), limit: 1, reverse: true }).all());
    return raw === undefined ? -1 : decodeValue<OutboxEntry>(raw).seq;
  }

  async countPending(): Promise<number> {
    const db = this.#db();
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
    const db = this.#db();
    const [key] = await read(() => db.keys({ ...PENDING_RANGE, limit: 1 }).all());
    return key === undefined ? undefined : parsePendingKey(key);
  }
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
