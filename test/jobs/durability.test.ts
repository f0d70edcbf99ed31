/**
 * A fleet job survives kill -9 of a real server process: after the restart it goes on where it
 * stopped and completes, and no twin has the job's patch applied twice (one job event each).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { eventually } from '../support/eventually.ts';
import { createTwins, jobEvents } from './helpers.ts';
import type { JobJson } from './helpers.ts';

describe('fleet job across kill -9', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;
  beforeAll(async () => { dir = await tempDir('doppel-job-crash-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  const call = async (method: string, path: string, body?: unknown, token = ADMIN) => fetch(`${server!.url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const job = async (id: string) => await (await call('GET', `/v1/jobs/${id}`)).json() as JobJson;

  it('resumes after the crash and applies its patch once per twin', async () => {
    server = await startChildServer(dir.path);
    const ids = await createTwins(call, 'crash-', 2000, () => ({}));
    const res = await call('POST', '/v1/jobs', { filter: 'exists(id)', prefix: 'crash-', desired: { fw: '3.1' } });
    expect(res.status).toBe(202);
    const { id } = await res.json() as JobJson;
    // Killed mid-job: once some twins are done, with more in flight.
    const before = await eventually(async () => { const j = await job(id); return j.done > 0 ? j : undefined; }, 'the job to start', 60_000);
    await server.kill('SIGKILL');
    expect(before.status).toBe('running');
    server = await startChildServer(dir.path);
    const after = await eventually(async () => { const j = await job(id); return j.status === 'completed' ? j : undefined; }, 'the job to complete', 120_000);
    expect(after).toMatchObject({ matched: 2000, done: 2000, failed: 0, scanned: 2000 });
    const events = await jobEvents(call, ids, id);
    expect([...events.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  }, 240_000);
});
