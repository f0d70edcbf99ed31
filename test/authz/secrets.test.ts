/**
 * Secrets stay secret: no log line (at debug level, every request logged) holds a token, its secret
 * or its hash, however it travelled (header, ?access_token=, CoAP ?token=, accepted or refused); no
 * reply after the one that created a key or device token shows it again (key listings, every twin
 * view on every protocol); and the data directory holds only hashes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret, randomToken } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { nodeRuntime } from '../../src/runtime/node.ts';
import { startServer } from '../../src/server.ts';
import type { DoppelServer } from '../../src/server.ts';
import { json, RawClient } from '../coap/helpers.ts';
import { IN_PROCESS, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, handshake, wsUrl } from '../ws/helpers.ts';
import { UNKNOWN_DEVICE, UNKNOWN_KEY } from './fixtures.ts';

const ADMIN = `dpa_${randomToken(32)}`;
const lines: string[] = [];
let server: DoppelServer;
let dir: { path: string; remove: () => Promise<void> };
let url: string;
/** Every token used: the token, its secret part, and the hashes the server may keep of either. */
const used: Array<{ plain: string[]; hashes: string[] }> = [];
const everySecret = () => used.flatMap((u) => [...u.plain, ...u.hashes]);

async function remember(token: string): Promise<string> {
  const secret = token.includes('.') ? token.slice(token.indexOf('.') + 1) : token;
  used.push({ plain: [token, secret], hashes: [await hashSecret(secret), await hashSecret(token)] });
  return token;
}

const call = async (method: string, path: string, token: string | null, body?: unknown): Promise<Response> => fetch(`${url}${path}`, {
  method,
  headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
/** The status, with the body read: an unread body keeps its connection busy and stalls the server's close. */
const statusOf = async (pending: Promise<Response>): Promise<number> => {
  const res = await pending;
  await res.arrayBuffer();
  return res.status;
};
const created = async <T>(res: Response): Promise<T> => {
  expect(res.status).toBe(201);
  return (await res.json()) as T;
};
/** The text of an event stream up to its first event. */
async function firstEvent(path: string): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const res = await fetch(`${url}${path}`, { signal: abort.signal });
  if (res.status !== 200) return { status: res.status, text: await res.text() };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
  await reader.cancel().catch(() => {});
  abort.abort();
  return { status: 200, text };
}

let key: { id: string; token: string };
/** A key created by a keys:admin key: as secret as any other. */
let child: string;
let device: string;
let rotated: string;

beforeAll(async () => {
  if (!IN_PROCESS) return;
  dir = await tempDir();
  // A short drain: the event streams these tests abort can hold a connection for seconds.
  const config = loadConfig(['--http', '0', '--coap', '0', '--data', dir.path, '--admin-token', ADMIN, '--log-level', 'debug', '--shutdown-seconds', '1'], {});
  server = await startServer(config, nodeRuntime, createLogger('debug', (line) => lines.push(line)));
  url = `http://127.0.0.1:${server.httpPort}`;
  await remember(ADMIN);
  for (const wrong of [UNKNOWN_KEY, UNKNOWN_DEVICE]) await remember(wrong);

  key = await created(await call('POST', '/v1/keys', ADMIN, { name: 'logged?', scopes: ['twins:read', 'twins:write', 'keys:admin'] }));
  await remember(key.token);
  child = await remember((await created<{ token: string }>(await call('POST', '/v1/keys', key.token, { scopes: ['twins:read'] }))).token);
  await created(await call('POST', '/v1/twins', ADMIN, { id: 'log-1', desired: { temp: 21 } }));
  device = await remember((await created<{ token: string }>(await call('POST', '/v1/twins/log-1/token', key.token))).token);
  rotated = device;
  device = await remember((await created<{ token: string }>(await call('POST', '/v1/twins/log-1/token', ADMIN))).token);
});
afterAll(async () => {
  await server?.close();
  await dir?.remove();
});

describe.skipIf(!IN_PROCESS)('secrets', () => {
  it('never appear in a log line, whichever way a token travelled and whether it was accepted', async () => {
    // HTTP: header, ?access_token= on a stream and (refused) elsewhere, rotated, unknown, malformed.
    expect(await statusOf(call('GET', '/v1/twins/log-1', key.token))).toBe(200);
    expect((await firstEvent(`/v1/twins/log-1/events?access_token=${encodeURIComponent(child)}`)).status).toBe(200);
    expect(await statusOf(fetch(`${url}/v1/twins/log-1?access_token=${encodeURIComponent(key.token)}`))).toBe(401);
    expect(await statusOf(fetch(`${url}/metrics?access_token=${encodeURIComponent(ADMIN)}`))).toBe(200);
    expect(await statusOf(call('PATCH', '/v1/twins/log-1/reported', device, { temp: 21 }))).toBe(200);
    expect(await statusOf(call('GET', '/v1/twins/log-1', rotated))).toBe(401);
    expect(await statusOf(call('GET', '/v1/twins/log-1', UNKNOWN_KEY))).toBe(401);
    expect(await statusOf(fetch(`${url}/v1/twins/log-1`, { headers: { authorization: `Basic ${ADMIN}` } }))).toBe(401);

    // WebSocket: header and ?access_token=, app and device, and a refused handshake.
    const t = { url } as TestServer;
    const app = await connect(t, key.token);
    expect(await app.request({ op: 'get', twin: 'log-1' })).toMatchObject({ op: 'twin' });
    app.close();
    const dev = await connect(t, device, { query: true });
    expect(await dev.request({ op: 'report', reported: { temp: 22 } })).toMatchObject({ op: 'ok' });
    dev.close();
    expect((await handshake(wsUrl(t, `?access_token=${UNKNOWN_DEVICE}`))).status).toBe(401);

    // CoAP: ?token= accepted, rotated and unknown.
    const coap = await RawClient.open(server.coapPort);
    try {
      expect((await coap.request({ path: '/t/log-1', query: [`token=${device}`] })).code).toBe('2.05');
      expect((await coap.request({ method: 'PUT', path: '/t/log-1/reported', query: [`token=${device}`], payload: '{"temp":23}' })).code).toBe('2.04');
      expect((await coap.request({ path: '/t/log-1', query: [`token=${rotated}`] })).code).toBe('4.01');
      expect((await coap.request({ path: '/.well-known/core', query: [`token=${UNKNOWN_DEVICE}`] })).code).toBe('4.01');
    } finally {
      await coap.close();
    }

    // Revocation, then the revoked key again.
    expect(await statusOf(call('DELETE', `/v1/keys/${key.id}`, ADMIN))).toBe(204);
    expect(await statusOf(call('GET', '/v1/twins/log-1', key.token))).toBe(401);

    // The capture did see the traffic: the stream's request, by path only, and the masked configuration.
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; path?: string; config?: { adminToken?: string } });
    expect(entries.some((e) => e.msg === 'request' && e.path === '/v1/twins/log-1/events')).toBe(true);
    expect(entries.find((e) => e.msg === 'configuration')?.config?.adminToken).toBe('***');
    expect(lines.length).toBeGreaterThan(10);
    const secrets = everySecret();
    for (const line of lines) for (const s of secrets) expect(line.includes(s), `log line holds a secret: ${line}`).toBe(false);
  });

  it('are shown once: never in a key listing or in any view of a twin, on any protocol', async () => {
    const fresh = await created<{ id: string; token: string }>(await call('POST', '/v1/keys', ADMIN, { scopes: ['twins:read'] }));
    await remember(fresh.token);
    const credentialId = device.slice(4, device.indexOf('.'));
    const seen: string[] = [];
    const text = async (res: Response) => { expect(res.status).toBe(200); seen.push(await res.text()); };
    await text(await call('GET', '/v1/keys', ADMIN));
    await text(await call('GET', '/v1/twins/log-1', ADMIN));
    await text(await call('GET', '/v1/twins/log-1', device));
    await text(await call('GET', '/v1/twins?limit=1000', ADMIN));
    await text(await call('GET', '/v1/twins/log-1/history', ADMIN));
    await text(await call('PATCH', '/v1/twins/log-1', ADMIN, { desired: { temp: 24 } }));
    await text(await call('PATCH', '/v1/twins/log-1/reported', device, { temp: 24 }));
    seen.push((await firstEvent(`/v1/twins/log-1/events?access_token=${encodeURIComponent(fresh.token)}`)).text);
    const app = await connect({ url } as TestServer, fresh.token);
    seen.push(JSON.stringify(await app.request({ op: 'subscribe', twins: ['log-1'] })), JSON.stringify(await app.next((m) => m.op === 'snapshot')));
    seen.push(JSON.stringify(await app.request({ op: 'get', twin: 'log-1' })));
    app.close();
    const coap = await RawClient.open(server.coapPort);
    seen.push(JSON.stringify(json(await coap.request({ path: '/t/log-1', query: [`token=${device}`] }))));
    await coap.close();
    // Nor can a field selector reach the token's id.
    expect(await statusOf(call('GET', '/v1/twins/log-1?fields=tokenId', ADMIN))).toBe(400);

    expect(seen.length).toBe(12);
    for (const body of seen) {
      for (const s of [...everySecret(), credentialId, 'tokenId', '"hash"']) expect(body.includes(s), `a reply shows "${s}": ${body.slice(0, 300)}`).toBe(false);
    }
  });

  // Last: it stops the server to read LevelDB's files whole.
  it('are stored hashed: the data directory holds no token and no secret', async () => {
    const record = await server.store.getCredential('device', device.slice(4, device.indexOf('.')));
    expect(record?.hash).toBe(await hashSecret(device.slice(device.indexOf('.') + 1)));
    await server.close();
    // Hashes are what the store is meant to keep; a token or its secret is not.
    const plain = used.flatMap((u) => u.plain);
    const files = await readdir(join(dir.path, 'db'), { recursive: true, withFileTypes: true });
    let bytes = 0;
    for (const f of files.filter((e) => e.isFile())) {
      const content = await readFile(join(f.parentPath, f.name));
      bytes += content.length;
      for (const s of plain) expect(content.includes(s), `${f.name} holds a secret in plain text`).toBe(false);
    }
    expect(bytes, 'the store wrote something').toBeGreaterThan(0);
  });
});
