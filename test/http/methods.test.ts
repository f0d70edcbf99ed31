/**
 * The first things a person tries by hand: `/` in a browser lands on the API reference, and a
 * wrong method on a known path is `405 method_not_allowed` with an `Allow` header listing exactly
 * what the route table serves (RFC 9110 §15.5.6), while an unknown path stays 404.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, expectProblem, snapshotOf } from './helpers.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

describe('GET /', () => {
  it('redirects GET and HEAD to the web console', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${t.url}/`, { method, redirect: 'manual' });
      expect(res.status, method).toBe(302);
      expect(res.headers.get('location'), method).toBe('/console');
      await res.body?.cancel();
    }
    const followed = await fetch(`${t.url}/`);
    expect(followed.url).toBe(`${t.url}/console`);
    expect(followed.headers.get('content-type')).toMatch(/^text\/html/);
    await followed.body?.cancel();
  });
});

describe('a wrong method on a known path', () => {
  const cases: [method: string, path: string, allow: string][] = [
    ['PUT', '/v1/twins/m-1', 'GET, HEAD, PATCH, DELETE'],
    ['POST', '/v1/twins/m-1', 'GET, HEAD, PATCH, DELETE'],
    ['DELETE', '/v1/keys', 'GET, HEAD, POST'],
    ['PUT', '/v1/twins/m-1/reported', 'PATCH'],
    ['GET', '/v1/keys/k1', 'DELETE'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['DELETE', '/openapi.json', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'],
  ];

  it.each(cases)('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const res = await t.call(method, path, method === 'GET' || method === 'DELETE' ? {} : { body: { desired: { x: 1 } } });
    expect(res.headers.get('allow')).toBe(allow);
    const problem = await expectProblem(res, 405, 'method_not_allowed');
    expect(problem.detail).toBe(`Method ${method} not allowed on ${path}: use ${allow}`);
    expect(problem.instance).toBe(path);
  });

  it('changes nothing', async () => {
    await createTwin(t, 'm-2', { desired: { x: 1 } });
    const before = await snapshotOf(t, 'm-2');
    await expectProblem(await t.call('PUT', '/v1/twins/m-2', { body: { desired: { x: 2 } } }), 405, 'method_not_allowed');
    await expectProblem(await t.call('POST', '/v1/twins/m-2/reported', { body: { x: 3 } }), 405, 'method_not_allowed');
    expect(await snapshotOf(t, 'm-2')).toEqual(before);
  });

  it('answers HEAD like GET: 200 where GET exists, 405 without a body where it does not', async () => {
    await createTwin(t, 'm-3');
    const ok = await fetch(`${t.url}/v1/twins/m-3`, { method: 'HEAD', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('');
    const refused = await fetch(`${t.url}/v1/keys/k1`, { method: 'HEAD', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('DELETE');
    expect(await refused.text()).toBe('');
  });

  it('still needs a credential under /v1 (authentication comes first, as for any /v1 path)', async () => {
    await expectProblem(await t.call('PUT', '/v1/twins/m-1', { token: null, body: {} }), 401, 'unauthorized');
  });
});

describe('an unknown path', () => {
  it('stays 404 not_found for any method, without Allow', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await t.call(method, '/v1/nothing/here');
      expect(res.headers.get('allow'), method).toBeNull();
      const problem = await expectProblem(res, 404, 'not_found');
      expect(problem.detail).toBe(`No route ${method} /v1/nothing/here`);
    }
    const head = await fetch(`${t.url}/nothing`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(head.headers.get('allow')).toBeNull();
    await head.body?.cancel();
  });
});
