/**
 * Fleet jobs on a real server: a desired patch reaches every matching twin exactly once (one job
 * event in each history), non-matching twins are left alone, a twin that refuses it counts in
 * `failed`, queued-command jobs, cancel, bad definitions and authorization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { eventually, expectJson, expectProblem } from '../http/helpers.ts';
import { apiKey, twinWithToken } from '../commands/helpers.ts';
import { createTwins, jobEvents } from './helpers.ts';
import type { JobJson } from './helpers.ts';

describe('fleet jobs', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });
  const call = (method: string, path: string, body?: unknown, token?: string) => t.call(method, path, { ...(body === undefined ? {} : { body }), ...(token === undefined ? {} : { token }) });
  const finished = (id: string) => eventually(async () => {
    const job = await expectJson<JobJson>(await call('GET', `/v1/jobs/${id}`), 200);
    return job.status === 'running' ? undefined : job;
  }, `job ${id} to end`, 60_000);

  it('applies a desired patch exactly once to each matching twin', async () => {
    const ids = await createTwins(call, 'fleet-a-', 150, (i) => ({ site: i % 3 === 0 ? 'berlin' : 'paris' }));
    const started = await expectJson<JobJson>(await call('POST', '/v1/jobs', { filter: 'tags.site == "berlin"', prefix: 'fleet-a-', desired: { fw: '2.0' } }), 202);
    expect(started.status).toBe('running');
    const job = await finished(started.id);
    expect(job).toMatchObject({ status: 'completed', matched: 50, done: 50, failed: 0, scanned: 150 });
    const events = await jobEvents(call, ids, started.id);
    ids.forEach((id, i) => expect(events.get(id), id).toBe(i % 3 === 0 ? 1 : 0));
    const twin = await expectJson<{ desired: Record<string, unknown> }>(await call('GET', '/v1/twins/fleet-a-00003'), 200);
    expect(twin.desired).toEqual({ fw: '2.0' });
    const { items } = await expectJson<{ items: JobJson[] }>(await call('GET', '/v1/jobs'), 200);
    expect(items.map((j) => j.id)).toContain(started.id);
    await expectProblem(await call('DELETE', `/v1/jobs/${started.id}`), 409, 'job_ended');
    const metrics = await (await t.call('GET', '/metrics', { token: null })).text();
    expect(Number(/^doppel_job_twins_total\{outcome="done"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(50);
    expect(Number(/^doppel_job_twins_total\{outcome="skipped"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);
    expect(metrics).toMatch(/^doppel_jobs_running \d+$/m);
  }, 120_000);

  it('counts a twin that refuses the patch as failed and goes on', async () => {
    await createTwins(call, 'fleet-b-', 3, () => ({}));
    // 32 KiB of desired already: one more key makes it too large.
    expect((await call('PATCH', '/v1/twins/fleet-b-00001', { desired: { big: 'x'.repeat(32_700) } })).status).toBe(200);
    const started = await expectJson<JobJson>(await call('POST', '/v1/jobs', { filter: 'exists(id)', prefix: 'fleet-b-', desired: { more: 'y'.repeat(200) } }), 202);
    expect(await finished(started.id)).toMatchObject({ status: 'completed', matched: 3, done: 2, failed: 1 });
  }, 60_000);

  it('queues one command per matching twin', async () => {
    await twinWithToken(t, 'fleet-c-1');
    await twinWithToken(t, 'fleet-c-2');
    const started = await expectJson<JobJson>(await call('POST', '/v1/jobs', { filter: 'id ~ "fleet-c-*"', prefix: 'fleet-c-', command: { name: 'reboot', payload: { delay: 1 }, ttlSeconds: 600 } }), 202);
    expect(await finished(started.id)).toMatchObject({ status: 'completed', matched: 2, done: 2 });
    for (const id of ['fleet-c-1', 'fleet-c-2']) {
      const { items } = await expectJson<{ items: { name: string; status: string; payload: unknown }[] }>(await call('GET', `/v1/twins/${id}/commands`), 200);
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ name: 'reboot', status: 'queued', payload: { delay: 1 } });
    }
  }, 60_000);

  it('stops when cancelled, and what it applied is consistent with its counts', async () => {
    const ids = await createTwins(call, 'fleet-d-', 1500, () => ({}));
    const started = await expectJson<JobJson>(await call('POST', '/v1/jobs', { filter: 'exists(id)', prefix: 'fleet-d-', desired: { mode: 'eco' } }), 202);
    const cancelled = await expectJson<JobJson>(await call('DELETE', `/v1/jobs/${started.id}`), 200);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.done).toBeLessThan(1500);
    const events = await jobEvents(call, ids, started.id);
    const applied = [...events.values()].filter((n) => n === 1).length;
    expect([...events.values()].every((n) => n <= 1)).toBe(true);
    expect(applied).toBe(cancelled.done);
    expect(await expectJson<JobJson>(await call('GET', `/v1/jobs/${started.id}`), 200)).toMatchObject({ status: 'cancelled', done: cancelled.done });
  }, 180_000);

  it('refuses bad definitions with clear errors and stores nothing', async () => {
    const before = (await expectJson<{ items: JobJson[] }>(await call('GET', '/v1/jobs'), 200)).items.length;
    const bad = await expectProblem(await call('POST', '/v1/jobs', { filter: 'tags.site == ', desired: { a: 1 } }), 400, 'invalid_request');
    expect(bad.details?.position).toBe(14);
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)' }), 400, 'invalid_request');
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', desired: { a: 1 }, command: { name: 'x', ttlSeconds: 5 } }), 400, 'invalid_request');
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', command: { name: 'bad name!', ttlSeconds: 5 } }), 400, 'invalid_request');
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', command: { name: 'x' } }), 400, 'invalid_request');
    // A patch that no twin could take is refused once, up front, with the code a twin PATCH gets.
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', desired: [1] }), 400, 'invalid_document');
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', desired: JSON.parse('{"a":{"__proto__":{"x":1}}}') }), 400, 'invalid_document');
    await expectProblem(await call('POST', '/v1/jobs', { filter: 'exists(id)', command: { name: 'x', ttlSeconds: 5, payload: JSON.parse('{"__proto__":1}') } }), 400, 'invalid_document');
    await expectProblem(await call('GET', '/v1/jobs/j-00000000-0000-0000-0000-000000000000'), 404, 'not_found');
    expect((await expectJson<{ items: JobJson[] }>(await call('GET', '/v1/jobs'), 200)).items.length).toBe(before);
  });

  it('refuses device tokens, read keys and prefixes outside a key\'s own, changing nothing', async () => {
    const device = await twinWithToken(t, 'fleet-e-1');
    const reader = await apiKey(t, ['twins:read']);
    const scoped = await apiKey(t, ['twins:read', 'twins:write'], 'fleet-e-');
    const body = (prefix?: string) => ({ filter: 'exists(id)', desired: { x: 1 }, ...(prefix === undefined ? {} : { prefix }) });
    await expectProblem(await call('POST', '/v1/jobs', body('fleet-e-'), device), 403, 'forbidden');
    await expectProblem(await call('POST', '/v1/jobs', body('fleet-e-'), reader), 403, 'forbidden');
    await expectProblem(await call('POST', '/v1/jobs', body('fleet-'), scoped), 403, 'forbidden');
    await expectProblem(await call('POST', '/v1/jobs', body('fleet-e-'), 'not-a-token'), 401, 'unauthorized');
    expect((await expectJson<{ version: number }>(await call('GET', '/v1/twins/fleet-e-1'), 200)).version).toBe(1);
    // Within its prefix (the default when none is given) the scoped key may.
    const own = await expectJson<JobJson>(await call('POST', '/v1/jobs', body(), scoped), 202);
    expect(own.prefix).toBe('fleet-e-');
    await finished(own.id);
    const { items } = await expectJson<{ items: JobJson[] }>(await call('GET', '/v1/jobs', undefined, scoped), 200);
    expect(items.map((j) => j.id)).toEqual([own.id]);
  }, 60_000);
});
