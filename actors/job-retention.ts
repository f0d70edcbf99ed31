/**
 * Retention of ended fleet jobs: a job that ended more than `retentionMs` ago is deleted with its
 * done-marks (cluster mode: and its lease key, actors/job-cluster.ts), so job records do not grow
 * forever. On one node this runs at start and then hourly, and also deletes leftover marks of
 * ended jobs (a crash between writing the end and deleting the marks).
 */
import type { Job } from '../src/job/types.ts';
import type { TwinStore } from '../src/store/types.ts';
import type { JobTwins } from './job-twin.ts';

export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

export function isPastRetention(job: Job, now: Date, retentionMs: number): boolean {
  return job.status !== 'running' && job.endedAt !== undefined && now.getTime() - Date.parse(job.endedAt) >= retentionMs;
}

/** One node: deletes ended jobs past retention, and leftover marks of the other ended jobs. */
export async function tidyEndedJobs(store: TwinStore, marks: JobTwins, now: Date, retentionMs: number, stopping: () => boolean): Promise<void> {
  for (const job of await store.listJobs!()) {
    if (stopping()) return;
    if (job.status === 'running') continue;
    const expired = isPastRetention(job, now, retentionMs);
    if (expired || (await store.jobMarks?.(job.id) ?? []).length > 0) await marks.dropMarks(job.id, stopping);
    if (expired && !stopping()) await store.commit([{ type: 'deleteJob', id: job.id }]);
  }
}
