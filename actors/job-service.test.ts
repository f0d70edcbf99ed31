import { describe, expect, it } from 'vitest';
import { createCredentials, createRateLimiter } from '../src/auth/index.ts';
import { planJob } from '../src/job/types.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { endJob } from '../src/job/types.ts';
import { eventually } from '../test/support/eventually.ts';
import { JobService } from './job-service.ts';
import { JobTwins } from './job-twin.ts';
import { TwinService } from './twins.ts';

async function setup(opts: { now?: () => Date } = {}) {
  const store = createMemoryStore();
  await store.open();
  const commits: StoreOp[][] = [];
  const commit = store.commit.bind(store);
  const recording: TwinStore = store;
  recording.commit = (ops: StoreOp[]) => { commits.push(ops); return commit(ops); };
  const credentials = await createCredentials({ store, adminToken: 'admin-token-0123456789abcdef', limiter: createRateLimiter(), limits: { device: { rate: 1e6, burst: 1e6 }, key: { rate: 1e6, burst: 1e6 } } });
  const options = {
    store: recording, credentials, limits: DEFAULT_LIMITS, historyRetention: 1000, livenessMs: 60_000, maxResident: 1000, idleMs: 300_000, maxPendingPerTwin: 10_000,
  };
  const twins = new TwinService(options);
  for (const id of ['a', 'b', 'c']) await twins.create(id, { desired: {} }, { via: 'http' });
  const jobs = new JobService({ twins, store: recording, pacing: { pauseMs: 0 }, ...opts });
  const ended = async (id: string) => {
    for (;;) {
      const job = await jobs.get(id);
      if (job.status !== 'running') return job;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Another service on the same store: twins it creates are not resident in `twins`. */
  const elsewhere = () => new TwinService(options);
  return { store, twins, jobs, commits, ended, elsewhere };
}

describe('JobService', () => {
  it('commits each twin\'s change and its done-mark in one batch', async () => {
    const { store, jobs, commits, ended } = await setup();
    const job = await jobs.start({ filter: 'exists(id)', prefix: '', desired: { fw: '2' } });
    expect(await ended(job.id)).toMatchObject({ status: 'completed', matched: 3, done: 3 });
    for (const twin of ['a', 'b', 'c']) {
      const batch = commits.find((ops) => ops.some((op) => op.type === 'putEvent' && op.event.twin === twin && op.event.clientToken === `job:${job.id}`));
      expect(batch, twin).toBeDefined();
      expect(batch).toContainEqual({ type: 'putJobMark', job: job.id, twin });
    }
    // Ended: its marks have served and go (after the ended record, in the background).
    await eventually(async () => ((await store.jobMarks!(job.id)).length === 0 ? true : undefined), 'the done-marks to go');
  });

  it('resumed after a crash between a change and the cursor, skips the twin already changed', async () => {
    const { store, twins, jobs, ended } = await setup();
    // As a crash leaves it: the job stored before its first batch, twin b already changed with its mark…
    const job = planJob('j-00000000-0000-4000-8000-000000000001', { filter: 'exists(id)', prefix: '', desired: { fw: '2' } }, new Date());
    await store.commit([{ type: 'putJob', job }]);
    await twins.patch('b', { desired: { fw: '2' } }, { via: 'system', clientToken: `job:${job.id}`, alsoCommit: [{ type: 'putJobMark', job: job.id, twin: 'b' }] });
    // …and changed again by someone else before the job resumes.
    await twins.patch('b', { desired: { fw: '9' } }, { via: 'http' });
    await jobs.resume();
    expect(await ended(job.id)).toMatchObject({ status: 'completed', matched: 3, done: 3, failed: 0 });
    expect((await twins.get('a')).desired).toEqual({ fw: '2' });
    expect((await twins.get('b')).desired).toEqual({ fw: '9' });
    const tokens = (await store.readHistory('b', { after: 0, limit: 100 })).map((e) => e.clientToken ?? null);
    expect(tokens.filter((t) => t === `job:${job.id}`)).toHaveLength(1);
  });

  it('leaves in memory only the twins that were there before it: a job does not fill the actor cache', async () => {
    const { store, twins, jobs, ended, elsewhere } = await setup();
    const other = elsewhere();
    for (let i = 0; i < 20; i++) await other.create(`v-${i}`, { desired: {} }, { via: 'http' });
    const detach = await twins.attachDevice('a', 'ws');
    expect(twins.stats.resident).toBe(3);
    const job = await jobs.start({ filter: 'exists(id)', prefix: '', desired: { fw: '2' } });
    expect(await ended(job.id)).toMatchObject({ status: 'completed', matched: 23, done: 23 });
    expect(twins.stats.resident).toBe(3);
    for (const id of ['a', 'b', 'c']) expect(twins.isResident(id), id).toBe(true);
    expect(twins.isResident('v-7')).toBe(false);
    expect((await store.getTwin('v-7'))?.desired).toEqual({ fw: '2' });
    detach();
  });

  it('cancels: the record ends cancelled and a second cancel is job_ended', async () => {
    const { jobs } = await setup();
    const job = await jobs.start({ filter: 'exists(id)', prefix: '', desired: { x: 1 } });
    const cancelled = await jobs.cancel(job.id);
    expect(cancelled.status).toBe('cancelled');
    await expect(jobs.cancel(job.id)).rejects.toMatchObject({ code: 'job_ended' });
  });

  it('applies nothing once its runner no longer holds the job (checked before every attempt)', async () => {
    const { store, twins } = await setup();
    const job = planJob('j-00000000-0000-4000-8000-000000000002', { filter: 'exists(id)', prefix: '', desired: { fw: '2' } }, new Date());
    const jobTwins = new JobTwins({ twins, store, marksOnOwner: false });
    expect(await jobTwins.apply(job, 'a', () => true, () => false)).toBe('skipped');
    expect((await twins.get('a')).desired).toEqual({});
    expect(await store.hasJobMark!(job.id, 'a')).toBe(false);
    expect(await jobTwins.apply(job, 'a', () => true, () => true)).toBe('done');
    expect((await twins.get('a')).desired).toEqual({ fw: '2' });
  });

  it('deletes ended jobs past retention with their marks, and leftover marks of the others, at start', async () => {
    const now = new Date('2026-03-01T00:00:00.000Z');
    const { store, jobs } = await setup({ now: () => now });
    const def = { filter: 'exists(id)', prefix: '', desired: { fw: '2' } };
    const old = endJob(planJob('j-00000000-0000-4000-8000-000000000003', def, new Date('2026-02-01T00:00:00.000Z')), 'completed', new Date('2026-02-20T00:00:00.000Z'));
    const recent = endJob(planJob('j-00000000-0000-4000-8000-000000000004', def, new Date('2026-02-27T00:00:00.000Z')), 'cancelled', new Date('2026-02-28T00:00:00.000Z'));
    // As a crash between writing the end and deleting the marks leaves them.
    await store.commit([{ type: 'putJob', job: old }, { type: 'putJob', job: recent }, { type: 'putJobMark', job: old.id, twin: 'a' }, { type: 'putJobMark', job: recent.id, twin: 'b' }]);
    await jobs.resume();
    expect(await store.getJob!(old.id)).toBeUndefined(); // 7 days by default
    expect(await store.jobMarks!(old.id)).toEqual([]);
    expect(await store.getJob!(recent.id)).toEqual(recent);
    expect(await store.jobMarks!(recent.id)).toEqual([]);
    await jobs.stop();
  });
});
