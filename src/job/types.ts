/**
 * @module
 * Fleet jobs (one desired patch, or one queued command, applied to every twin a filter selects):
 * the stored record, its public view and the pure rules of its progress. No I/O.
 */

export type JobStatus = 'running' | 'completed' | 'cancelled';

/** What a job applies to each matching twin: exactly one of the two. */
export type JobAction =
  | { desired: Record<string, unknown> }
  | { command: { name: string; payload?: unknown; ttlSeconds: number } };

/** A job as stored (`j!{id}`) and, minus `cursor`, as the HTTP API shows it. */
export interface Job {
  id: string;
  status: JobStatus;
  filter: string;
  prefix: string;
  desired?: Record<string, unknown>;
  command?: { name: string; payload?: unknown; ttlSeconds: number };
  /** Twins that matched the filter when the job reached them (applied or failed). */
  matched: number;
  /** Twins the job's patch or command was applied to. */
  done: number;
  /** Matching twins where applying failed (e.g. too_large); the job went on. */
  failed: number;
  /** Twins looked at so far. */
  scanned: number;
  /** The last twin id whose outcome is counted above (exclusive resume point); null before the first. */
  cursor: string | null;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
}

/** Job ids: `j-` + a UUID, never containing `!` (they are part of store keys). */
const JOB_ID = /^j-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID.test(id);
}

export function newJobId(): string {
  return `j-${crypto.randomUUID()}`;
}

/** The clientToken every change a job makes carries: how history and command dedupe know it. */
export function jobToken(id: string): string {
  return `job:${id}`;
}

export function planJob(id: string, def: { filter: string; prefix: string } & JobAction, now: Date): Job {
  const at = now.toISOString();
  return { id, status: 'running', ...def, matched: 0, done: 0, failed: 0, scanned: 0, cursor: null, createdAt: at, updatedAt: at };
}

/** One twin's outcome: `skipped` (no match), `done` or `failed`. */
export type TwinOutcome = 'skipped' | 'done' | 'failed';

/** The job after a batch of twins (in id order, `last` the highest id) has been handled. */
export function advanceJob(job: Job, outcomes: TwinOutcome[], last: string, now: Date): Job {
  const done = outcomes.filter((o) => o === 'done').length;
  const failed = outcomes.filter((o) => o === 'failed').length;
  return {
    ...job, cursor: last, scanned: job.scanned + outcomes.length,
    matched: job.matched + done + failed, done: job.done + done, failed: job.failed + failed, updatedAt: now.toISOString(),
  };
}

export function endJob(job: Job, status: Exclude<JobStatus, 'running'>, now: Date): Job {
  const at = now.toISOString();
  return { ...job, status, updatedAt: at, endedAt: at };
}

export function publicJob(job: Job): Omit<Job, 'cursor'> {
  const { cursor: _cursor, ...rest } = job;
  return rest;
}
