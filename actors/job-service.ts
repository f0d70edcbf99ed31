/**
 * Fleet jobs: walks the twins under a prefix in id order, a batch at a time, and applies the job's
 * desired patch (or queues its command) to each twin whose state matches the filter when the job
 * reaches it. Exactly once per twin: a patch carries its done-mark (`putJobMark`) in the same atomic
 * commit as the change, and a twin already marked is skipped, so a crash between a change and the
 * cursor's advance cannot apply it twice; a queued command carries the clientToken `job:<id>`,
 * which the command service already deduplicates. The job record (definition, counters, cursor)
 * is committed after every batch, so a restarted server goes on where it stopped.
 *
 * It yields to live traffic: a few twins in flight at once (`concurrency`), each an ordinary
 * message in the twin's mailbox behind any device request already queued, and a pause between
 * batches that grows while the actors' mailboxes are busy.
 */
import { DoppelError, fail, isDoppelError } from '../src/errors.ts';
import { advanceJob, endJob, isJobId, jobToken, newJobId, planJob } from '../src/job/types.ts';
import type { Job, JobAction, TwinOutcome } from '../src/job/types.ts';
import { parseFilter } from '../src/query/index.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import { newCommandId, planCommand } from '../src/twin/commands.ts';
import { toPublicTwin } from '../src/twin/index.ts';
import type { TwinState } from '../src/twin/types.ts';
import type { TwinService } from './twins.ts';
import { mapLimit } from '../src/map-limit.ts';

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
  /** A job loop stopped by an unexpected failure (it resumes at the next start). */
  onError?: (job: string, err: unknown) => void;
}

const VERSION_RETRIES = 5;
/** Done-marks deleted per commit once a job ended. */
const MARK_BATCH = 500;

export class JobService {
  readonly #deps: JobServiceDeps;
  readonly #pacing: JobPacing;
  readonly #now: () => Date;
  /** Running loops by job id, with their cancel flag. */
  readonly #loops = new Map<string, { cancel: boolean; done: Promise<Job | undefined> }>();
  #stopping = false;

  constructor(deps: JobServiceDeps) {
    this.#deps = deps;
    this.#pacing = { ...DEFAULT_PACING, ...deps.pacing };
    this.#now = deps.now ?? (() => new Date());
  }

  /** The store keeps jobs (LevelDB and memory stores). */
  get available(): boolean { return this.#deps.store.getJob !== undefined; }

  /** Jobs whose loop runs in this process now (a gauge). */
  get running(): number { return this.#loops.size; }

  /** Starts every stored job still `running` (after a restart or crash). */
  async resume(): Promise<void> {
    if (!this.available) return;
    for (const job of await this.#store().listJobs!()) if (job.status === 'running') this.#run(job);
  }

  /** Lets each loop finish its batch, then stops (server shutdown); jobs stay `running` in the store. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#loops.values()].map((l) => l.done));
  }

  /** Checks and stores a new job (its filter parsed now: a bad one is `invalid_request` with its position) and starts it. */
  async start(def: { filter: string; prefix: string } & JobAction): Promise<Job> {
    this.#store();
    parseFilter(def.filter);
    // A bad name or payload would fail on every twin: refuse the job instead.
    if ('command' in def) planCommand('job', def.command, newCommandId(this.#now().getTime()), this.#now());
    const job = planJob(newJobId(), def, this.#now());
    await this.#store().commit([{ type: 'putJob', job }]);
    this.#run(job);
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
    await this.#dropMarks(id);
    await this.#store().commit([{ type: 'putJob', job: cancelled }]);
    return cancelled;
  }

  #store(): TwinStore {
    if (!this.available) throw new DoppelError('unavailable', 'Fleet jobs are not available with this store yet: use the LevelDB store');
    return this.#deps.store;
  }

  #run(job: Job): void {
    if (this.#loops.has(job.id) || this.#stopping) return;
    const loop = { cancel: false, done: Promise.resolve<Job | undefined>(undefined) };
    loop.done = this.#loop(job, loop).catch((err: unknown) => { this.#deps.onError?.(job.id, err); return undefined; })
      .finally(() => { this.#loops.delete(job.id); });
    this.#loops.set(job.id, loop);
  }

  async #loop(start: Job, control: { cancel: boolean }): Promise<Job> {
    let job = start;
    const filter = parseFilter(job.filter);
    const matches = (state: TwinState) => filter.test(toPublicTwin(state, this.#deps.twins.connection(state)));
    for (;;) {
      if (control.cancel) return this.#end(job, 'cancelled');
      if (this.#stopping) return job;
      const batch: string[] = [];
      for await (const state of this.#deps.twins.list({ prefix: job.prefix, ...(job.cursor === null ? {} : { after: job.cursor }), limit: this.#pacing.batchSize })) batch.push(state.id);
      if (batch.length === 0) return this.#end(job, 'completed');
      const outcomes = await mapLimit(batch, this.#pacing.concurrency, (id) => this.#applyTo(job, id, matches));
      job = advanceJob(job, outcomes, batch[batch.length - 1]!, this.#now());
      await this.#deps.store.commit([{ type: 'putJob', job }]);
      await this.#pause();
    }
  }

  async #end(job: Job, status: 'completed' | 'cancelled'): Promise<Job> {
    const ended = endJob(job, status, this.#now());
    await this.#dropMarks(job.id);
    await this.#deps.store.commit([{ type: 'putJob', job: ended }]);
    return ended;
  }

  /**
   * An ending job's done-marks have served: deleted in batches, before the record says it ended.
   * Safe, because every twin it applied to lies at or before its stored cursor by then (the cursor
   * is committed after each whole batch), so a crash meanwhile resumes past them all.
   */
  async #dropMarks(job: string): Promise<void> {
    const twins = await this.#deps.store.jobMarks?.(job) ?? [];
    for (let i = 0; i < twins.length; i += MARK_BATCH) {
      await this.#deps.store.commit(twins.slice(i, i + MARK_BATCH).map((twin): StoreOp => ({ type: 'deleteJobMark', job, twin })));
    }
  }

  /**
   * One twin, and a twin the job activated goes back out of memory after: left resident, a job's
   * twins fill the actor cache and the heap, and the longer GC pauses slow every device request.
   */
  async #applyTo(job: Job, id: string, matches: (state: TwinState) => boolean): Promise<TwinOutcome> {
    const visiting = !this.#deps.twins.isResident(id);
    try {
      return await this.#applyOnce(job, id, matches);
    } finally {
      if (visiting) this.#deps.twins.release(id);
    }
  }

  /** One twin: `done` once its change (with the mark) committed, or already marked before. */
  async #applyOnce(job: Job, id: string, matches: (state: TwinState) => boolean): Promise<TwinOutcome> {
    const store = this.#deps.store;
    if (await store.hasJobMark!(job.id, id)) return this.#count('done');
    const mark: StoreOp = { type: 'putJobMark', job: job.id, twin: id };
    for (let attempt = 0; attempt < VERSION_RETRIES; attempt++) {
      try {
        const state = await this.#deps.twins.get(id);
        if (!matches(state)) return this.#count('skipped');
        if (job.desired !== undefined) {
          // ifVersion: the match holds for the state the patch applies to.
          await this.#deps.twins.patch(id, { desired: job.desired }, { via: 'system', clientToken: jobToken(job.id), ifVersion: state.version, alsoCommit: [mark] });
        } else if (job.command !== undefined) {
          await this.#deps.twins.commands.invoke(id, { ...job.command, clientToken: jobToken(job.id) });
          await store.commit([mark]);
        }
        return this.#count('done');
      } catch (err) {
        if (!isDoppelError(err)) throw err;
        if (err.code === 'version_conflict') continue; // changed meanwhile: look again
        if (err.code === 'not_found') return this.#count('skipped'); // deleted meanwhile
        if (err.code === 'unavailable') throw err; // storage failure or shutdown: resume later
        return this.#count('failed'); // this twin refuses it (too_large, invalid_document…): go on
      }
    }
    return this.#count('failed');
  }

  #count(outcome: TwinOutcome): TwinOutcome {
    this.#deps.onTwin?.(outcome);
    return outcome;
  }

  async #pause(): Promise<void> {
    const { pauseMs, busyPending } = this.#pacing;
    const ms = this.#deps.twins.stats.pending > busyPending ? pauseMs * 16 : pauseMs;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

