// The cluster tick on a memory store, with job leases every node would win (the real leases on
// NATS are tested in src/cluster/job-leases.test.ts and end to end in test/cluster/jobs.test.ts).
import { describe, expect, it } from 'vitest';
import { createCredentials, createRateLimiter } from '../src/auth/index.ts';
import { fail } from '../src/errors.ts';
import type { JobLeases } from '../src/job/leases.ts';
import { endJob, planJob } from '../src/job/types.ts';
import type { Job } from '../src/job/types.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { JobCluster } from './job-cluster.ts';
import { JobTwins } from './job-twin.ts';
import { TwinService } from './twins.ts';

const DEF = { filter: 'exists(id)', prefix: '', desired: { fw: '2' } };
const id = (n: number) => `j-00000000-0000-4000-8000-00000000000${n}`;

async function setup() {
  const store = createMemoryStore();
  await store.open();
  const credentials = await createCredentials({ store, adminToken: 'admin-token-0123456789abcdef', limiter: createRateLimiter(), limits: { device: { rate: 1e6, burst: 1e6 }, key: { rate: 1e6, burst: 1e6 } } });
  const twins = new TwinService({ store, credentials, limits: DEFAULT_LIMITS, historyRetention: 1000, livenessMs: 60_000, maxResident: 1000, idleMs: 300_000, maxPendingPerTwin: 10_000 });
  for (const twin of ['a', 'b']) await twins.create(twin, { desired: {} }, { via: 'http' });
  const acquired: string[] = [];
  const leases: JobLeases = {
    acquire: async (job) => { acquired.push(job); return true; },
    holds: () => true,
    release: async () => undefined,
    forget: async () => undefined,
  };
  const loops = new Map<string, { halt: boolean }>();
  const ran: string[] = [];
  const errors: string[] = [];
  const cluster = new JobCluster({
    store, leases, marks: new JobTwins({ twins, store, marksOnOwner: false }), loops, run: (job: Job) => { ran.push(job.id); },
    stopping: () => false, retentionMs: 7 * 86_400_000, now: () => new Date(), onError: (job) => { errors.push(job); },
  });
  return { store, cluster, loops, acquired, ran, errors };
}

describe('JobCluster tick', () => {
  it('renews the leases of its loops even when listing the jobs fails', async () => {
    const { store, cluster, loops, acquired, errors } = await setup();
    loops.set(id(1), { halt: false }).set(id(2), { halt: false });
    store.listJobs = async () => { throw new Error('listing broke'); };
    await cluster.tick();
    expect(acquired.sort()).toEqual([id(1), id(2)]);
    expect([...loops.values()].every((l) => !l.halt)).toBe(true);
    expect(errors).toEqual(['(all jobs)']);
  });

  it('goes on with the other jobs when one fails: a running job after it is still adopted', async () => {
    const { store, cluster, ran, errors } = await setup();
    await store.commit([{ type: 'putJob', job: endJob(planJob(id(1), DEF, new Date()), 'completed', new Date()) }, { type: 'putJob', job: planJob(id(2), DEF, new Date()) }]);
    const jobMarks = store.jobMarks!.bind(store);
    store.jobMarks = async (job) => { if (job === id(1)) throw fail('internal', 'marks broke'); return jobMarks(job); };
    await cluster.tick();
    expect(errors).toEqual([id(1)]);
    expect(ran).toEqual([id(2)]);
  });

  it('sweeps a mark that lands after a first look found none (a runner\'s write in flight)', async () => {
    const { store, cluster } = await setup();
    await store.commit([{ type: 'putJob', job: endJob(planJob(id(3), DEF, new Date()), 'cancelled', new Date()) }]);
    await cluster.tick();
    await store.commit([{ type: 'putJobMark', job: id(3), twin: 'a' }]); // late
    await cluster.tick();
    await cluster.idle();
    expect(await store.jobMarks!(id(3))).toEqual([]);
  });

  it('deletes an ended job past retention, with its marks', async () => {
    const { store, cluster } = await setup();
    const old = endJob(planJob(id(4), DEF, new Date('2020-01-01T00:00:00Z')), 'completed', new Date('2020-01-02T00:00:00Z'));
    await store.commit([{ type: 'putJob', job: old }, { type: 'putJobMark', job: id(4), twin: 'b' }]);
    await cluster.tick();
    await cluster.idle();
    expect(await store.getJob!(id(4))).toBeUndefined();
    expect(await store.jobMarks!(id(4))).toEqual([]);
  });
});
