/**
 * Fleet jobs: walks the twins under a prefix in id order, a batch at a time, and applies the job's
 * desired patch (or queues its command) to each twin whose state matches the filter when the job
 * reaches it. Exactly once per twin (job-twin.ts): a patch carries its done-mark in the same atomic
 * commit as the change, and a twin already marked is skipped, so a crash between a change and the
 * cursor's advance cannot apply it twice. The job record (definition, counters, cursor) is
 * committed after every batch, so a restarted server goes on where it stopped.
 *
 * Cluster mode (`leases`): job records are shared by every node; a job runs on the node holding
 * its lease. Every tick each node renews the leases of its running loops (stopping a loop whose
 * lease or job is gone: ended or cancelled elsewhere), takes the lease of any running job nobody
 * holds (its runner died: it resumes from the stored cursor), and deletes leftover done-marks of
 * ended jobs.
 *
 * It yields to live traffic: a few twins in flight at once (`concurrency`), each an ordinary
 * message in the twin's mailbox behind any device request already queued, and a pause between
 * batches that grows while the actors' mailboxes are busy.
 */
import { DoppelError, fail, isDoppelError } from '../src/errors.ts';
import { advanceJob, endJob, isJobId, newJobId, planJob } from '../src/job/types.ts';
import type { Job, JobAction, TwinOutcome } from '../src/job/types.ts';
import { parseFilter } from '../src/query/index.ts';
import type { TwinStore } from '../src/store/types.ts';
import { newCommandId, planCommand } from '../src/twin/commands.ts';
import { toPublicTwin } from '../src/twin/index.ts';
import type { TwinState } from '../src/twin/types.ts';
import type { TwinService } from './twins.ts';
import { JobTwins } from './job-twin.ts';
import { mapLimit } from '../src/map-limit.ts';

/** Cluster mode: which node runs a job (src/cluster/job-leases.ts). */
export interface JobLeases {
  /** Takes the job's lease, or renews it when this node holds it; false while another node holds it. */
  acquire(job: string): Promise<boolean>;
  /** Whether this node may run the job now (its lease has time to spare). */
  holds(job: string): boolean;
  /** Frees the job's lease (its loop stopped here), so another node may take it at once. */
  release(job: string): Promise<void>;
}

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
  /** Ended jobs found without leftover done-marks (cluster mode: not looked at again). */
  readonly #swept = new Set<string>();
  #stopping = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The tick in progress (cluster mode), awaited by `stop`. */
  #ticking: Promise<void> | null = null;

  constructor(deps: JobServiceDeps) {
    this.#deps = deps;
    this.#pacing = { ...DEFAULT_PACING, ...deps.pacing };
    this.#now = deps.now ?? (() => new Date());
    this.#twins = new JobTwins({ twins: deps.twins, store: deps.store, marksOnOwner: deps.leases !== undefined, ...(deps.onTwin === undefined ? {} : { onTwin: deps.onTwin }) });
  }

  /** The store keeps jobs (LevelDB, memory and JetStream stores). */
  get available(): boolean { return this.#deps.store.getJob !== undefined; }

  /** Jobs whose loop runs in this process now (a gauge). */
  get running(): number { return this.#loops.size; }

  /** Starts every stored job still `running` (after a restart or crash); cluster mode: starts ticking. */
  async resume(): Promise<void> {
    if (!this.available || this.#stopping) return;
    if (this.#deps.leases !== undefined) {
      this.#timer ??= setInterval(() => { void this.#tickOnce(); }, this.#deps.tickMs ?? 1_000);
      await this.#tickOnce();
      return;
    }
    for (const job of await this.#store().listJobs!()) if (job.status === 'running') this.#run(job);
  }

  /** Lets each loop finish its batch, then stops (server shutdown); jobs stay `running` in the store. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#ticking;
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
    const latest = await this.get(id);
    if (latest.status !== 'running') return latest;
    const cancelled = endJob(latest, 'cancelled', this.#now());
    await this.#twins.dropMarks(id);
    try {
      await this.#store().commit([{ type: 'putJob', job: cancelled }]);
    } catch (err) {
      // Cluster mode: its runner on another node ended it meanwhile; that ending stands.
      if (isDoppelError(err) && err.code === 'job_ended') return this.get(id);
      throw err;
    }
    return cancelled;
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
      const outcomes = await mapLimit(batch, this.#pacing.concurrency, (id) => (this.#halted(job, control) ? Promise.resolve<TwinOutcome>('skipped') : this.#twins.apply(job, id, matches)));
      if (this.#halted(job, control)) return undefined;
      job = advanceJob(job, outcomes, batch[batch.length - 1]!, this.#now());
      if (!(await this.#save(job))) return undefined;
      await this.#pause();
    }
  }

  async #end(job: Job, status: 'completed' | 'cancelled'): Promise<Job | undefined> {
    const ended = endJob(job, status, this.#now());
    await this.#twins.dropMarks(job.id);
    return (await this.#save(ended)) ? ended : undefined;
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

  /** One tick at a time: a slow one (NATS lagging) is not overtaken by the next. */
  #tickOnce(): Promise<void> {
    if (this.#ticking !== null || this.#stopping) return this.#ticking ?? Promise.resolve();
    this.#ticking = this.#tick().finally(() => { this.#ticking = null; });
    return this.#ticking;
  }

  /** Cluster mode, every tick: keeps this node's loops, takes over orphaned jobs, sweeps ended jobs' marks. */
  async #tick(): Promise<void> {
    const leases = this.#deps.leases;
    if (leases === undefined) return;
    try {
      for (const job of await this.#store().listJobs!()) {
        if (this.#stopping) return;
        const loop = this.#loops.get(job.id);
        if (loop !== undefined) {
          if (job.status !== 'running' || !(await leases.acquire(job.id))) loop.halt = true;
        } else if (job.status === 'running') {
          await this.#adopt(job.id, leases);
        } else if (!this.#swept.has(job.id)) {
          await this.#sweep(job.id, leases);
        }
      }
    } catch (err) {
      // Unavailable: NATS is out of reach, which the node's readiness already reports; the next tick tries again.
      if (!isDoppelError(err) || err.code !== 'unavailable') this.#deps.onError?.('(all jobs)', err);
    }
  }

  /** A running job no loop here runs: run it if its lease is free (read again once held: it may have just ended). */
  async #adopt(id: string, leases: JobLeases): Promise<void> {
    if (!(await leases.acquire(id))) return;
    const job = await this.#store().getJob!(id);
    if (job?.status === 'running' && !this.#stopping) this.#run(job);
    else await leases.release(id);
  }

  /** An ended job's done-marks left behind by a runner that stopped after it ended elsewhere. */
  async #sweep(id: string, leases: JobLeases): Promise<void> {
    if ((await this.#store().jobMarks?.(id) ?? []).length === 0) { this.#swept.add(id); return; }
    if (!(await leases.acquire(id))) return;
    try {
      await this.#twins.dropMarks(id);
    } finally {
      await leases.release(id);
    }
  }

  async #pause(): Promise<void> {
    const { pauseMs, busyPending } = this.#pacing;
    const ms = this.#deps.twins.stats.pending > busyPending ? pauseMs * 16 : pauseMs;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

