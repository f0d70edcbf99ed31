/**
 * Fleet jobs: walks the twins under a prefix in id order, a batch at a time, and applies the job's
 * desired patch (or queues its command) to each twin whose state matches the filter when the job
 * reaches it. Exactly once per twin (job-twin.ts): a patch carries its done-mark in the same atomic
 * commit as the change, and a twin already marked is skipped, so a crash between a change and the
 * cursor's advance cannot apply it twice. The job record (definition, counters, cursor) is
 * committed after every batch, so a restarted server goes on where it stopped.
 *
 * Ending a job writes the ended record first and deletes its done-marks after, in the background
 * (job-twin.ts `dropMarks` says why that order): a cancel returns once the record has ended.
 * Ended jobs are deleted `retentionMs` after they ended (job-retention.ts).
 *
 * Cluster mode (`leases`): job records are shared by every node; a job runs on the node holding
 * its lease, and each node ticks (job-cluster.ts): renewing its loops' leases, adopting jobs whose
 * runner died, sweeping ended jobs' leftover marks.
 *
 * It yields to live traffic: a few twins in flight at once (`concurrency`), each an ordinary
 * message in the twin's mailbox behind any device request already queued, and a pause between
 * batches that grows while the actors' mailboxes are busy.
 */
import { DoppelError, fail, isDoppelError } from '../src/errors.ts';
import type { JobLeases } from '../src/job/leases.ts';
import { advanceJob, endJob, isJobId, newJobId, planJob } from '../src/job/types.ts';
import type { Job, JobAction, JobStatus, TwinOutcome } from '../src/job/types.ts';
import { parseFilter } from '../src/query/index.ts';
import type { TwinStore } from '../src/store/types.ts';
import { newCommandId, planCommand } from '../src/twin/commands.ts';
import { toPublicTwin } from '../src/twin/index.ts';
import type { TwinState } from '../src/twin/types.ts';
import type { TwinService } from './twins.ts';
import { JobTwins } from './job-twin.ts';
import { mapLimit } from '../src/map-limit.ts';
import { JobCluster } from './job-cluster.ts';
import { DEFAULT_RETENTION_MS, tidyEndedJobs } from './job-retention.ts';
import { boundedWait } from '../src/bounded-wait.ts';

/** How long `stop` waits for a tick or a background mark deletion (NATS may hang). */
const STOP_WAIT_MS = 5_000;
/** One node: how often ended jobs are checked for retention. */
const TIDY_EVERY_MS = 3_600_000;

export interface JobPacing {
  /** Twins of one job in flight at once. */
  concurrency: number;
  /** Twins per batch (the job record is committed after each). */
  batchSize: number;
  /** Pause between batches, ms; 16× while more than `busyPending` messages wait in mailboxes. */
  pauseMs: number;
  busyPending: number;
}

export const DEFAULT_PACING: JobPacing = { concurrency: 4, batchSize: 64, pauseMs: 2, busyPending: 64 };

export interface JobServiceDeps {
  twins: TwinService;
  store: TwinStore;
  now?: () => Date;
  pacing?: Partial<JobPacing>;
  /** After each twin a job handled (metrics). */
  onTwin?: (outcome: TwinOutcome) => void;
  /** A job loop stopped by an unexpected failure (it resumes at the next start; cluster mode: at the next tick). */
  onError?: (job: string, err: unknown) => void;
  /** Cluster mode: job leases; the service then ticks every `tickMs` (default 1 s). */
  leases?: JobLeases;
  tickMs?: number;
  /** Ended jobs are deleted this long after they ended (default 7 days). */
  retentionMs?: number;
}

/** A running loop: `cancel` ends the job, `halt` only stops this node's loop (the job goes on elsewhere or has ended). */
interface Loop { cancel: boolean; halt: boolean; done: Promise<Job | undefined> }

export class JobService {
  readonly #deps: JobServiceDeps;
  readonly #pacing: JobPacing;
  readonly #now: () => Date;
  readonly #twins: JobTwins;
  /** Running loops by job id, with their flags. */
  readonly #loops = new Map<string, Loop>();
  readonly #cluster: JobCluster | undefined;
  /** Done-mark deletions of jobs that just ended, awaited (boundedly) by `stop`. */
  readonly #dropping = new Set<Promise<void>>();
  #stopping = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The tick (cluster mode) or tidy-up (one node) in progress, awaited by `stop`. */
  #ticking: Promise<void> | null = null;

  constructor(deps: JobServiceDeps) {
    this.#deps = deps;
    this.#pacing = { ...DEFAULT_PACING, ...deps.pacing };
    this.#now = deps.now ?? (() => new Date());
    this.#twins = new JobTwins({ twins: deps.twins, store: deps.store, marksOnOwner: deps.leases !== undefined, ...(deps.onTwin === undefined ? {} : { onTwin: deps.onTwin }) });
    if (deps.leases !== undefined) {
      this.#cluster = new JobCluster({
        store: deps.store, leases: deps.leases, marks: this.#twins, loops: this.#loops, run: (job) => this.#run(job), stopping: () => this.#stopping,
        retentionMs: this.#retentionMs, now: this.#now, ...(deps.onError === undefined ? {} : { onError: deps.onError }),
      });
    }
  }

  get #retentionMs(): number { return this.#deps.retentionMs ?? DEFAULT_RETENTION_MS; }

  /** The store keeps jobs (LevelDB, memory and JetStream stores). */
  get available(): boolean { return this.#deps.store.getJob !== undefined; }

  /** Jobs whose loop runs in this process now (a gauge). */
  get running(): number { return this.#loops.size; }

  /** Starts every stored job still `running` (after a restart or crash); cluster mode: starts ticking. */
  async resume(): Promise<void> {
    if (!this.available || this.#stopping) return;
    const cluster = this.#cluster;
    if (cluster !== undefined) {
      this.#timer ??= setInterval(() => { void this.#once(() => cluster.tick()); }, this.#deps.tickMs ?? 1_000);
      await this.#once(() => cluster.tick());
      return;
    }
    for (const job of await this.#store().listJobs!()) if (job.status === 'running') this.#run(job);
    const tidy = () => tidyEndedJobs(this.#deps.store, this.#twins, this.#now(), this.#retentionMs, () => this.#stopping)
      .catch((err: unknown) => this.#deps.onError?.('(ended jobs)', err));
    this.#timer ??= setInterval(() => { void this.#once(tidy); }, TIDY_EVERY_MS);
    await this.#once(tidy);
  }

  /** Lets each loop finish its batch, then stops (server shutdown); jobs stay `running` in the store. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    // Bounded: a tick stuck on NATS must not hold the shutdown; the loops stop after their batch.
    await boundedWait(Promise.all([this.#ticking, this.#cluster?.idle(), ...this.#dropping]), STOP_WAIT_MS);
    await Promise.all([...this.#loops.values()].map((l) => l.done));
  }

  /** Checks and stores a new job (its filter parsed now: a bad one is `invalid_request` with its position) and starts it. */
  async start(def: { filter: string; prefix: string } & JobAction): Promise<Job> {
    this.#store();
    parseFilter(def.filter);
    // A bad name or payload would fail on every twin: refuse the job instead.
    if ('command' in def) planCommand('job', def.command, newCommandId(this.#now().getTime()), this.#now());
    const job = planJob(newJobId(), def, this.#now());
    // Cluster mode: the creating node runs it, its lease taken before any other node can see the
    // job; with the lease bucket out of reach now, a later tick on some node takes it.
    const leased = this.#deps.leases === undefined || await this.#deps.leases.acquire(job.id);
    try {
      await this.#store().commit([{ type: 'putJob', job }]);
    } catch (err) {
      if (this.#deps.leases !== undefined && leased) await this.#deps.leases.release(job.id);
      throw err;
    }
    if (leased) this.#run(job);
    return job;
  }

  async get(id: string): Promise<Job> {
    const job = isJobId(id) ? await this.#store().getJob!(id) : undefined;
    if (job === undefined) throw fail('not_found', `No job "${id}"`);
    return job;
  }

  /** Newest first. */
  async list(): Promise<Job[]> {
    return (await this.#store().listJobs!()).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** Stops a running job after the batch in flight; an ended one is `job_ended`. */
  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    if (job.status !== 'running') throw fail('job_ended', `Job "${id}" already ended ${job.status}`, { status: job.status });
    const loop = this.#loops.get(id);
    if (loop !== undefined) {
      loop.cancel = true;
      const ended = await loop.done;
      if (ended !== undefined && ended.status !== 'running') return ended;
    }
    let cancelled: Job;
    try {
      cancelled = await this.#endStored(id, 'cancelled');
    } catch (err) {
      // Cluster mode: its runner on another node ended it meanwhile; that ending stands.
      if (isDoppelError(err) && err.code === 'job_ended') return this.get(id);
      throw err;
    }
    this.#dropMarksLater(id);
    return cancelled;
  }

  /**
   * Ends the job as stored now. Cluster mode: a compare-and-set on the stored record, keeping the
   * counters and cursor the runner (on another node) wrote last, not the older ones read here.
   */
  async #endStored(id: string, status: Exclude<JobStatus, 'running'>): Promise<Job> {
    const store = this.#store();
    if (store.endJob !== undefined) return store.endJob(id, status, this.#now());
    const latest = await this.get(id);
    if (latest.status !== 'running') throw fail('job_ended', `Job "${id}" already ended ${latest.status}`, { status: latest.status });
    const ended = endJob(latest, status, this.#now());
    await store.commit([{ type: 'putJob', job: ended }]);
    return ended;
  }

  /** The ended job's marks, in the background; one left behind is swept later (cluster tick, next start). */
  #dropMarksLater(id: string): void {
    const dropping: Promise<void> = this.#twins.dropMarks(id, () => this.#stopping)
      .catch((err: unknown) => { if (!isDoppelError(err) || err.code !== 'unavailable') this.#deps.onError?.(id, err); })
      .finally(() => this.#dropping.delete(dropping));
    this.#dropping.add(dropping);
  }

  #store(): TwinStore {
    if (!this.available) throw new DoppelError('unavailable', 'Fleet jobs are not available with this store yet: use the LevelDB store');
    return this.#deps.store;
  }

  #run(job: Job): void {
    if (this.#loops.has(job.id) || this.#stopping) return;
    const loop: Loop = { cancel: false, halt: false, done: Promise.resolve<Job | undefined>(undefined) };
    loop.done = this.#loop(job, loop).catch((err: unknown) => { this.#deps.onError?.(job.id, err); return undefined; })
      .finally(async () => {
        this.#loops.delete(job.id);
        // Ended, stopping or failed here: let the next runner in at once (none when it ended).
        if (this.#deps.leases?.holds(job.id) === true) await this.#deps.leases.release(job.id);
      });
    this.#loops.set(job.id, loop);
  }

  /** This loop must stop without writing: halted by the tick, or its lease ran out (cluster mode). */
  #halted(job: Job, control: Loop): boolean {
    return control.halt || (this.#deps.leases !== undefined && !this.#deps.leases.holds(job.id));
  }

  async #loop(start: Job, control: Loop): Promise<Job | undefined> {
    let job = start;
    const filter = parseFilter(job.filter);
    const matches = (state: TwinState) => filter.test(toPublicTwin(state, this.#deps.twins.connection(state)));
    for (;;) {
      if (this.#halted(job, control)) return undefined;
      if (control.cancel) return this.#end(job, 'cancelled');
      if (this.#stopping) return job;
      const batch: string[] = [];
      for await (const state of this.#deps.twins.list({ prefix: job.prefix, ...(job.cursor === null ? {} : { after: job.cursor }), limit: this.#pacing.batchSize, connections: false })) batch.push(state.id);
      if (batch.length === 0) return this.#halted(job, control) ? undefined : this.#end(job, 'completed');
      const stillHolds = () => !this.#halted(job, control);
      const outcomes = await mapLimit(batch, this.#pacing.concurrency, (id) => this.#twins.apply(job, id, matches, stillHolds));
      if (this.#halted(job, control)) return undefined;
      job = advanceJob(job, outcomes, batch[batch.length - 1]!, this.#now());
      if (!(await this.#save(job))) return undefined;
      await this.#pause();
    }
  }

  /** The ended record first, then the marks (job-twin.ts `dropMarks`). */
  async #end(job: Job, status: 'completed' | 'cancelled'): Promise<Job | undefined> {
    const ended = endJob(job, status, this.#now());
    if (!(await this.#save(ended))) return undefined;
    this.#dropMarksLater(job.id);
    return ended;
  }

  /** Stores the job's progress; false when it ended meanwhile elsewhere (cluster mode: cancelled on another node). */
  async #save(job: Job): Promise<boolean> {
    try {
      await this.#deps.store.commit([{ type: 'putJob', job }]);
      return true;
    } catch (err) {
      if (isDoppelError(err) && err.code === 'job_ended') return false;
      throw err;
    }
  }

  /** One tick (or tidy-up) at a time: a slow one (NATS lagging) is not overtaken by the next. */
  #once(work: () => Promise<void>): Promise<void> {
    if (this.#ticking !== null || this.#stopping) return this.#ticking ?? Promise.resolve();
    this.#ticking = work().finally(() => { this.#ticking = null; });
    return this.#ticking;
  }

  async #pause(): Promise<void> {
    const { pauseMs, busyPending } = this.#pacing;
    const ms = this.#deps.twins.stats.pending > busyPending ? pauseMs * 16 : pauseMs;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

