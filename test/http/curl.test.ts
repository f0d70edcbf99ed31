/**
 * The README's curl walkthrough, run with the real `curl` binary against a real server: what a
 * person pastes into a shell must work as written.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import type { Json } from './helpers.ts';

let t: TestServer;
let watcher: ChildProcess | null = null;

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  if (watcher !== null && watcher.exitCode === null && watcher.signalCode === null) watcher.kill();
  await t.stop();
});

interface CurlReply { status: number; headers: Record<string, string>; body: string; json: () => Json }

/** Runs `curl -sS -i <args>` and splits the reply into status, headers and body. */
function curl(...args: string[]): Promise<CurlReply> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', '20', ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`curl ${args.join(' ')} failed: ${err.message} ${stderr}`)); return; }
      const split = stdout.indexOf('\r\n\r\n');
      const head = stdout.slice(0, split).split('\r\n');
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head[0]!)?.[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = stdout.slice(split + 4);
      resolve({ status, headers, body, json: () => JSON.parse(body) as Json });
    });
  });
}

const bearer = (token: string) => ['-H', `Authorization: Bearer ${token}`];

describe('the README walkthrough with curl', () => {
  it('creates a twin, sets desired, issues a device token, reports as the device and watches the delta clear', async () => {
    const API = t.url;

    // 1. An integrator creates a twin with a desired state.
    const created = await curl('-X', 'POST', `${API}/v1/twins`, ...bearer(ADMIN), '-H', 'content-type: application/json',
      '-d', '{"id":"thermo-42","desired":{"temp":21,"mode":"eco"},"tags":{"site":"berlin"}}');
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/twins/thermo-42');
    expect(created.headers.etag).toBe('"1"');
    expect(created.json()).toMatchObject({ version: 1, delta: { temp: 21, mode: 'eco' }, sync: { inSync: false } });

    // 2. Change the desired state (JSON Merge Patch; If-Match makes it conditional).
    const patched = await curl('-X', 'PATCH', `${API}/v1/twins/thermo-42`, ...bearer(ADMIN),
      '-H', 'content-type: application/merge-patch+json', '-H', 'If-Match: "1"', '-d', '{"desired":{"temp":22}}');
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ version: 2, desired: { temp: 22, mode: 'eco' }, delta: { temp: 22, mode: 'eco' } });
    // The same conditional patch again is now stale.
    const stale = await curl('-X', 'PATCH', `${API}/v1/twins/thermo-42`, ...bearer(ADMIN),
      '-H', 'content-type: application/merge-patch+json', '-H', 'If-Match: "1"', '-d', '{"desired":{"temp":23}}');
    expect(stale.status).toBe(412);
    expect(stale.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(stale.json().code).toBe('version_conflict');

    // 3. Issue the device its token (shown once).
    const issued = await curl('-X', 'POST', `${API}/v1/twins/thermo-42/token`, ...bearer(ADMIN));
    expect(issued.status).toBe(201);
    // The README extracts it with sed; the same expression must find it.
    const DEVICE = /.*"token":"([^"]*)".*/.exec(issued.body)?.[1];
    expect(DEVICE).toMatch(/^dpd_/);
    expect(DEVICE).toBe(issued.json().token);

    // 5 (started first). Watch it live: curl -N on the event stream.
    const lines: string[] = [];
    let buffered = '';
    watcher = spawn('curl', ['-sS', '-N', '--max-time', '30', `${API}/v1/twins/thermo-42/events`, ...bearer(ADMIN)], { stdio: ['ignore', 'pipe', 'pipe'] });
    watcher.stdout!.setEncoding('utf8');
    watcher.stdout!.on('data', (d: string) => {
      buffered += d;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });
    const waitForLine = async (pattern: RegExp, what: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const hit = lines.find((l) => pattern.test(l));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`curl -N never printed ${what}; got: ${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitForLine(/^event: snapshot$/, 'the snapshot');
    const snapshot = JSON.parse((await waitForLine(/^data: \{"id":"thermo-42"/, 'the snapshot data')).slice(6)) as Json;
    expect(snapshot).toMatchObject({ version: 2, delta: { temp: 22, mode: 'eco' } });

    // 4. The device (or its gateway) reports; the reply carries what is still pending.
    const reported = await curl('-X', 'PATCH', `${API}/v1/twins/thermo-42/reported`, ...bearer(DEVICE!),
      '-H', 'content-type: application/json', '-d', '{"temp":22,"mode":"eco","fw":"1.2.0"}');
    expect(reported.status).toBe(200);
    expect(reported.json()).toEqual({ version: 3, desired: { temp: 22, mode: 'eco' }, reported: { temp: 22, mode: 'eco', fw: '1.2.0' }, delta: {} });

    // The stream shows the change that cleared the delta.
    const change = JSON.parse((await waitForLine(/^data: \{"twin":"thermo-42","version":3/, 'the change of version 3')).slice(6)) as Json;
    expect(change).toMatchObject({ version: 3, via: 'http', patch: { reported: { temp: 22, mode: 'eco', fw: '1.2.0' } }, delta: {} });
    expect(lines.some((l) => /^id: 3\.[0-9a-z]+$/.test(l))).toBe(true);
    watcher.kill();

    // 5. The twin, its history and a filtered listing.
    const twin = await curl(`${API}/v1/twins/thermo-42`, ...bearer(ADMIN));
    expect(twin.status).toBe(200);
    expect(twin.json()).toMatchObject({ version: 3, delta: {}, sync: { inSync: true }, connection: { online: true, via: 'http' } });
    const history = await curl(`${API}/v1/twins/thermo-42/history?since=0`, ...bearer(ADMIN));
    expect((history.json().items as Json[]).map((e) => e.version)).toEqual([1, 2, 3]);
    expect(history.json().next).toBeNull();
    const listed = await curl(`${API}/v1/twins?filter=tags.site%20%3D%3D%20%22berlin%22`, ...bearer(ADMIN));
    expect(listed.status).toBe(200);
    expect((listed.json().items as Json[]).map((i) => i.id)).toEqual(['thermo-42']);

    // And the device sees its converged view.
    const view = await curl(`${API}/v1/twins/thermo-42`, ...bearer(DEVICE!));
    expect(view.json()).toEqual({ version: 3, desired: { temp: 22, mode: 'eco' }, reported: { temp: 22, mode: 'eco', fw: '1.2.0' }, delta: {} });
  });

  it('serves the docs and health endpoints to curl without a credential', async () => {
    expect((await curl(`${t.url}/healthz`)).status).toBe(200);
    expect((await curl(`${t.url}/readyz`)).status).toBe(200);
    const docs = await curl(`${t.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    const unauthorized = await curl(`${t.url}/v1/twins`);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});
