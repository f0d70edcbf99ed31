/**
 * Fleet jobs in cluster mode, every tick (actors/job-service.ts runs the loops):
 *
 * 1. Renews the leases of this node's loops first, all at once and before anything else can fail
 *    or take time: a slow listing, sweep or failing job must not delay a renewal past the lease's
 *    TTL, or the job would run on two nodes. A loop whose lease is gone stops without writing.
 * 2. Lists the jobs; each one is handled on its own (one failing job does not stop the others):
 *    a loop whose job ended elsewhere stops; a running job nobody holds is adopted (its runner
 *    died: it resumes from the stored cursor); an ended job's leftover done-marks are swept, and
 *    an ended job past retention is deleted with its marks and lease key.
 *
 * Sweeps run in the background, a few at a time, so a job with many marks does not hold up the
 * next tick. An ended job is looked at until it has shown no marks for SETTLE_MS since this node
 * first saw it ended: a runner that lost its lease may still have a mark in flight when the job
 * ends, which lands after a first, empty look.
 */
import { isDoppelError } from '../src/errors.ts';
import type { JobLeases } from '../src/job/leases.ts';
import type { Job } from '../src/job/types.ts';
import type { TwinStore } from '../src/store/types.ts';
import type { JobTwins } from './job-twin.ts';
import { isPastRetention } from './job-retention.ts';

/** 2× the job lease TTL (src/cluster/lease-bucket.ts): by then no runner that lost its lease still writes. */
export const SETTLE_MS = 8_000;
/** Sweeps (or retention deletions) of ended jobs running at once on one node. */
const SWEEPS_AT_ONCE = 2;

export interface JobClusterDeps {
  store: TwinStore;
  leases: JobLeases;
  marks: JobTwins;
  /** This node's running loops (the job service's); `halt` stops one without writing. */
  loops: ReadonlyMap<string, { halt: boolean }>;
  run(job: Job): void;
  stopping(): boolean;
  retentionMs: number;
  now(): Date;
  onError?: (job: string, err: unknown) => void;
}

export class JobCluster {
  readonly #deps: JobClusterDeps;
  /** Ended jobs: when this node first saw each ended. */
  readonly #endedSeen = new Map<string, number>();
  /** Ended jobs whose marks are gone for good: not looked at again (until retention deletes them). */
  readonly #settled = new Set<string>();
  /** Sweeps and deletions in the background, by job. */
  readonly #background = new Map<string, Promise<void>>();

  constructor(deps: JobClusterDeps) { this.#deps = deps; }

  /** Resolves once the background sweeps stopped (they stop early while the service stops). */
  async idle(): Promise<void> { await Promise.all(this.#background.values()); }

  async tick(): Promise<void> {
    const { leases, loops, store } = this.#deps;
    await Promise.all([...loops].map(async ([id, loop]) => {
      if (!(await leases.acquire(id).catch(() => false))) loop.halt = true;
    }));
    let jobs: Job[];
    let marked: Set<string> | undefined;
    try {
      jobs = await store.listJobs!();
      // One index read per tick (not one per job) tells which ended jobs still have marks.
      const unsettled = jobs.some((job) => job.status !== 'running' && !this.#settled.has(job.id));
      if (unsettled && store.markedJobs !== undefined) marked = new Set(await store.markedJobs());
    } catch (err) {
      this.#report('(all jobs)', err);
      return;
    }
    for (const job of jobs) {
      if (this.#deps.stopping()) return;
      try {
        await this.#visit(job, marked);
      } catch (err) {
        this.#report(job.id, err);
      }
    }
  }

  async #visit(job: Job, marked: Set<string> | undefined): Promise<void> {
    const loop = this.#deps.loops.get(job.id);
    if (job.status === 'running') {
      if (loop === undefined) await this.#adopt(job.id);
      return;
    }
    if (loop !== undefined) loop.halt = true; // ended (cancelled) on another node
    if (this.#background.has(job.id)) return;
    if (isPastRetention(job, this.#deps.now(), this.#deps.retentionMs)) { this.#inBackground(job.id, () => this.#delete(job.id)); return; }
    if (this.#settled.has(job.id)) return;
    const now = Date.now();
    const seen = this.#endedSeen.get(job.id) ?? now;
    this.#endedSeen.set(job.id, seen);
    const hasMarks = marked === undefined ? (await this.#deps.store.jobMarks?.(job.id) ?? []).length > 0 : marked.has(job.id);
    if (hasMarks) this.#inBackground(job.id, () => this.#sweep(job.id));
    else if (now - seen >= SETTLE_MS) this.#settled.add(job.id);
  }

  /** A running job no loop here runs: run it if its lease is free (read again once held: it may have just ended). */
  async #adopt(id: string): Promise<void> {
    const { leases, store } = this.#deps;
    if (!(await leases.acquire(id))) return;
    const job = await store.getJob!(id);
    if (job?.status === 'running' && !this.#deps.stopping()) this.#deps.run(job);
    else await leases.release(id);
  }

  /** Leftover done-marks of an ended job (a runner stopped after it ended elsewhere), under the job's lease. */
  async #sweep(id: string): Promise<void> {
    const { leases, marks } = this.#deps;
    if (!(await leases.acquire(id))) return;
    try {
      await marks.dropMarks(id, this.#deps.stopping);
    } finally {
      await leases.release(id);
    }
  }

  /** Retention: the ended job's marks, then its record, then its lease key. */
  async #delete(id: string): Promise<void> {
    const { leases, marks, store } = this.#deps;
    if (!(await leases.acquire(id))) return;
    try {
      await marks.dropMarks(id, this.#deps.stopping);
      if (this.#deps.stopping()) return;
      await store.commit([{ type: 'deleteJob', id }]);
    } catch (err) {
      await leases.release(id);
      throw err;
    }
    if (this.#deps.stopping()) { await leases.release(id); return; }
    await leases.forget(id);
    this.#settled.delete(id);
    this.#endedSeen.delete(id);
  }

  #inBackground(id: string, work: () => Promise<void>): void {
    if (this.#background.size >= SWEEPS_AT_ONCE || this.#deps.stopping()) return; // a later tick
    const running = work().catch((err: unknown) => this.#report(id, err)).finally(() => this.#background.delete(id));
    this.#background.set(id, running);
  }

  /** Unavailable: NATS is out of reach, which the node's readiness already reports; the next tick tries again. */
  #report(job: string, err: unknown): void {
    if (!isDoppelError(err) || err.code !== 'unavailable') this.#deps.onError?.(job, err);
  }
}
