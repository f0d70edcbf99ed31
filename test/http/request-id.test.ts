/**
 * Every response carries X-Request-Id, the caller's when one was sent: the hot routes' own replies,
 * hono's builders (201, 204, 304, listings, event streams) and problem replies alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin } from './helpers.ts';

let t: TestServer;

beforeAll(async () => { t = await startTestServer(); await createTwin(t, 'rid-1', { desired: { temp: 1 } }); });
afterAll(async () => { await t.stop(); });

const cases: [string, string, { body?: unknown; token?: string | null; headers?: Record<string, string> }, number][] = [
  ['GET', '/v1/twins/rid-1', {}, 200],
  ['GET', '/v1/twins/rid-1', { headers: { 'if-none-match': '"1"' } }, 304],
  ['HEAD', '/v1/twins/rid-1', {}, 200],
  ['PATCH', '/v1/twins/rid-1', { body: { tags: { a: 'b' } } }, 200],
  ['POST', '/v1/twins', { body: { id: 'rid-2' } }, 201],
  ['GET', '/v1/twins?limit=1', {}, 200],
  ['DELETE', '/v1/twins/rid-2', {}, 204],
  ['GET', '/v1/twins/nope', {}, 404],
  ['GET', '/v1/twins/rid-1', { token: null }, 401],
  ['PUT', '/v1/twins/rid-1', {}, 405],
  ['GET', '/nowhere', {}, 404],
  ['GET', '/healthz', {}, 200],
];

describe('X-Request-Id', () => {
  it.each(cases)('is on %s %s (%#)', async (method, path, opts, status) => {
    const res = await t.call(method, path, opts);
    await res.arrayBuffer();
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    // The repeat names another twin (rid-2 exists now, or is gone), so it answers as the first did.
    const body = opts.body !== undefined && JSON.stringify(opts.body).includes('rid-2') ? { id: 'rid-3' } : opts.body;
    const again = path.replace('rid-2', 'rid-3');
    const echoed = await t.call(method, again, { ...opts, ...(body === undefined ? {} : { body }), headers: { ...opts.headers, 'x-request-id': 'caller-42' } });
    await echoed.arrayBuffer();
    expect(echoed.status).toBe(status);
    expect(echoed.headers.get('x-request-id')).toBe('caller-42');
  });

  it('is on an event stream', async () => {
    const res = await t.call('GET', '/v1/twins/rid-1/events', { headers: { 'x-request-id': 'sse-7' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toBe('sse-7');
    await res.body?.cancel();
  });
});
