/**
 * Fleet job records in a JetStream KV bucket (`dpl_<ns>_jobs`, key `j.<job id>`, CBOR values as
 * in the LevelDB store), so every node can create, list, follow and cancel any job.
 *
 * One rule is kept here, where the write happens: **a job that ended stays ended**. Any node may
 * cancel a job while another node's runner is between two progress writes; the runner's next write
 * (still `running`) must not bring the job back. So a put reads the stored record, refuses to
 * replace an ended one (`job_ended`), and writes with the revision it read (per-key
 * compare-and-set), retrying when another writer came in between.
 *
 * A job's done-marks are not here: they ride in the twin records (record.ts `jobMarks`), so a
 * twin's change and its mark are one message.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { fail } from '../../errors.ts';
import { endJob, isJobId } from '../../job/types.ts';
import type { Job, JobStatus } from '../../job/types.ts';
import { decodeValue, encodeValue } from '../codec.ts';
import { unavailable, WRONG_LAST_SEQUENCE } from './connection.ts';
import { listKeys } from './kv-keys.ts';

/** Compare-and-set rounds a put tries before it gives up (each lost round means another writer won). */
const CAS_ROUNDS = 5;

const jobKvKey = (id: string): string => `j.${id}`;

export class JobBucket {
  readonly #kv: KV;
  readonly #timeoutMs: number;
  /** Ended jobs as read: they never change again, so a listing reads only the running ones. */
  readonly #ended = new Map<string, Job>();

  constructor(kv: KV, timeoutMs: number) {
    this.#kv = kv;
    this.#timeoutMs = timeoutMs;
  }

  async get(id: string): Promise<Job | undefined> {
    return isJobId(id) ? (await this.#read(id))?.job : undefined;
  }

  /** Every job, in id order (as the LevelDB store lists `j!` keys). */
  async list(): Promise<Job[]> {
    try {
      const keys = await listKeys(this.#kv, 'j.>', this.#timeoutMs);
      // Deleted by retention (on any node): no longer listed, so no longer cached.
      const listed = new Set(keys.map((key) => key.slice(2)));
      for (const id of this.#ended.keys()) if (!listed.has(id)) this.#ended.delete(id);
      const found = await Promise.all(keys.map(async (key) => this.#ended.get(key.slice(2)) ?? (await this.#read(key.slice(2)))?.job));
      return found.flatMap((job) => (job === undefined ? [] : [job])).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    } catch (err) {
      throw unavailable('cannot list jobs', err);
    }
  }

  /** Stores `job` unless the stored record has ended (`job_ended`, nothing written); answers the bytes written. */
  async put(job: Job): Promise<number> {
    return (await this.#cas(job.id, () => job)).bytes;
  }

  /**
   * Ends a running job as stored now, keeping the stored counters and cursor: a cancel from a node
   * that is not the runner must not write back the progress it read before the runner's newer
   * batch (`job_ended` when it ended meanwhile; `not_found` when there is no such job).
   */
  async end(id: string, status: Exclude<JobStatus, 'running'>, at: Date): Promise<Job> {
    return (await this.#cas(id, (stored) => {
      if (stored === undefined) throw fail('not_found', `No job "${id}"`);
      return endJob(stored, status, at);
    })).job;
  }

  /** Deletes an ended job's record (retention); a missing one is fine. */
  async delete(id: string): Promise<void> {
    if (!isJobId(id)) return;
    await this.#kv.purge(jobKvKey(id)).catch((err: unknown) => { throw unavailable(`cannot delete job "${id}"`, err); });
    this.#ended.delete(id);
  }

  /** One compare-and-set write of `next(stored)`, refused when the stored record has ended. */
  async #cas(id: string, next: (stored: Job | undefined) => Job): Promise<{ job: Job; bytes: number }> {
    for (let round = 0; round < CAS_ROUNDS; round++) {
      const stored = await this.#read(id);
      if (stored !== undefined && stored.job.status !== 'running') {
        throw fail('job_ended', `Job "${id}" already ended ${stored.job.status}`, { status: stored.job.status });
      }
      const job = next(stored?.job);
      const bytes = encodeValue(job);
      try {
        if (stored === undefined) await this.#kv.create(jobKvKey(id), bytes);
        else await this.#kv.update(jobKvKey(id), bytes, stored.revision);
        return { job, bytes: bytes.length };
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) throw unavailable(`cannot store job "${id}"`, err);
        // Another node wrote the job since the read: read it again.
      }
    }
    throw fail('unavailable', `Job "${id}" is being written by other nodes: retry`);
  }

  async #read(id: string): Promise<{ job: Job; revision: number } | undefined> {
    const entry = await this.#kv.get(jobKvKey(id)).catch((err: unknown) => { throw unavailable(`cannot read job "${id}"`, err); });
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    const job = decodeValue<Job>(entry.value);
    if (job.status !== 'running') this.#ended.set(job.id, job);
    return { job, revision: entry.revision };
  }
}
