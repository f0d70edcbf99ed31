/**
 * One twin of a fleet job, exactly once: its desired patch (or queued command) and the job's
 * done-mark on it.
 *
 * A patch carries its done-mark (`putJobMark`) in the same atomic commit as the change, and the
 * mark is checked after the twin is read, with the patch conditional on the version read
 * (`ifVersion`). So whatever applied the job to this twin before — this runner before a crash, or
 * (cluster mode) another node's runner still finishing a twin — either shows as a mark, or moved
 * the version and makes this patch a `version_conflict` that reads again. A queued command carries
 * the clientToken `job:<id>`, which the command service deduplicates on the twin.
 *
 * Where marks are written: on one node, straight to the store (batches of many twins). In cluster
 * mode they ride in the twin's record (src/store/jetstream/record.ts), which only the twin's owner
 * may write (its actor's store position is the fence), so they go through the owner as an empty
 * patch carrying the mark ops.
 */
import { isDoppelError } from '../src/errors.ts';
import { jobToken } from '../src/job/types.ts';
import type { Job, TwinOutcome } from '../src/job/types.ts';
import { mapLimit } from '../src/map-limit.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import type { TwinState } from '../src/twin/types.ts';
import type { TwinService } from './twins.ts';

const VERSION_RETRIES = 5;
/** Done-marks deleted per commit once a job ended (one node). */
const MARK_BATCH = 500;
/** Twins whose marks are deleted at once through their owners (cluster mode). */
const MARK_CONCURRENCY = 8;

export interface JobTwinDeps {
  twins: TwinService;
  store: TwinStore;
  /** Cluster mode: marks live in twin records and are written by each twin's owner. */
  marksOnOwner: boolean;
  /** After each twin a job handled (metrics). */
  onTwin?: (outcome: TwinOutcome) => void;
}

export class JobTwins {
  readonly #deps: JobTwinDeps;

  constructor(deps: JobTwinDeps) { this.#deps = deps; }

  /**
   * One twin: `done` once its change (with the mark) committed, or when it was marked before;
   * `skipped` when `stillHolds` turns false (cluster mode: the lease ran short), checked before
   * every attempt — a version_conflict retry included — since once the job ends elsewhere its
   * marks are deleted and nothing but the lease keeps this runner from applying again.
   */
  async apply(job: Job, id: string, matches: (state: TwinState) => boolean, stillHolds: () => boolean = () => true): Promise<TwinOutcome> {
    // A twin the job activated goes back out of memory after: left resident, a job's twins fill
    // the actor cache and the heap, and the longer GC pauses slow every device request.
    const visiting = !this.#deps.twins.isResident(id);
    try {
      return await this.#applyOnce(job, id, matches, stillHolds);
    } finally {
      if (visiting) this.#deps.twins.release(id);
    }
  }

  async #applyOnce(job: Job, id: string, matches: (state: TwinState) => boolean, stillHolds: () => boolean): Promise<TwinOutcome> {
    const { store, twins } = this.#deps;
    const mark: StoreOp = { type: 'putJobMark', job: job.id, twin: id };
    for (let attempt = 0; attempt < VERSION_RETRIES; attempt++) {
      if (!stillHolds()) return 'skipped'; // not counted: the batch is dropped and runs again elsewhere
      try {
        let state: TwinState;
        try {
          state = await twins.get(id);
        } catch (err) {
          // Deleted since: still `done` if the job got there first.
          if (isDoppelError(err) && err.code === 'not_found' && await store.hasJobMark!(job.id, id)) return this.#count('done');
          throw err;
        }
        // After the read: a mark committed before it is seen here; one committed after it moved the version.
        if (await store.hasJobMark!(job.id, id)) return this.#count('done');
        if (!matches(state)) return this.#count('skipped');
        if (job.desired !== undefined) {
          // ifVersion: the match holds for the state the patch applies to, and nothing slipped in since the mark check.
          await twins.patch(id, { desired: job.desired }, { via: 'system', clientToken: jobToken(job.id), ifVersion: state.version, alsoCommit: [mark] });
        } else if (job.command !== undefined) {
          await twins.commands.invoke(id, { ...job.command, clientToken: jobToken(job.id) });
          await this.#commitMarks(id, [mark]);
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

  /**
   * An ended job's done-marks have served: deleted only AFTER the record says it ended. The other
   * order is unsafe in cluster mode: a runner on another node may hold changed twins past its
   * stored cursor (its batch in flight); with their marks gone before the end is written, a runner
   * that dies then is succeeded by one that resumes from the older cursor and applies them again.
   * Once the record has ended, nothing resumes it, so the marks can go; a crash before they went
   * leaves them to a later sweep (the cluster tick, or the next start on one node). `stopping`
   * ends the deletion early (shutdown).
   */
  async dropMarks(job: string, stopping: () => boolean = () => false): Promise<void> {
    const twins = await this.#deps.store.jobMarks?.(job) ?? [];
    if (this.#deps.marksOnOwner) {
      await mapLimit(twins, MARK_CONCURRENCY, (twin) => (stopping() ? Promise.resolve() : this.#commitMarks(twin, [{ type: 'deleteJobMark', job, twin }])).catch((err: unknown) => {
        if (!isDoppelError(err) || err.code !== 'not_found') throw err; // a deleted twin took its marks along
      }));
      return;
    }
    for (let i = 0; i < twins.length && !stopping(); i += MARK_BATCH) {
      await this.#deps.store.commit(twins.slice(i, i + MARK_BATCH).map((twin): StoreOp => ({ type: 'deleteJobMark', job, twin })));
    }
  }

  /** Mark ops of one twin, committed where that twin's writes belong. */
  async #commitMarks(twin: string, ops: StoreOp[]): Promise<void> {
    if (!this.#deps.marksOnOwner) { await this.#deps.store.commit(ops); return; }
    // An empty patch changes nothing but commits `alsoCommit` in the twin's mailbox, on its owner.
    await this.#deps.twins.patch(twin, {}, { via: 'system', alsoCommit: ops });
  }

  #count(outcome: TwinOutcome): TwinOutcome {
    this.#deps.onTwin?.(outcome);
    return outcome;
  }
}
