/**
 * HTTPS and WSS on the HTTP port (--tls-cert/--tls-key), on the runtime under test: the real
 * `curl` trusting only our self-signed certificate, a `ws` client subscribing over WSS, and plain
 * HTTP to the TLS port refused rather than silently answered.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN, startTestServer, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { makeCertificate } from './certificate.ts';
import type { CertificateFiles } from './certificate.ts';

interface CurlResult { code: number; status: number; body: string; stderr: string }

/** `curl -sS` with the status code on the last line; never throws (the exit code is returned). */
function curl(...args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args], (err, stdout, stderr) => {
      const cut = stdout.lastIndexOf('\n');
      resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? 1), status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut), stderr });
    });
  });
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let certificate: CertificateFiles;
let t: TestServer;
const bearer = ['-H', `authorization: Bearer ${ADMIN}`];

beforeAll(async () => {
  dir = await tempDir('doppel-tls-');
  certificate = await makeCertificate(dir.path);
  t = await startTestServer(['--tls-cert', certificate.cert, '--tls-key', certificate.key]);
});
afterAll(async () => {
  await t?.stop();
  await dir?.remove();
});

describe('HTTPS with --tls-cert and --tls-key', () => {
  it('serves https:// on the HTTP port to curl trusting the certificate', async () => {
    expect(t.url).toBe(`https://127.0.0.1:${t.server.httpPort}`);
    const health = await curl('--cacert', certificate.cert, `${t.url}/healthz`);
    expect(health).toMatchObject({ code: 0, status: 200 });
  });

  it('creates and reads a twin with a credential over HTTPS', async () => {
    const created = await curl('--cacert', certificate.cert, ...bearer, '-H', 'content-type: application/json',
      '-X', 'POST', `${t.url}/v1/twins`, '-d', JSON.stringify({ id: 'tls-1', desired: { temp: 21 } }));
    expect(created.status, created.body).toBe(201);
    const read = await curl('--cacert', certificate.cert, ...bearer, `${t.url}/v1/twins/tls-1`);
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ id: 'tls-1', version: 1, desired: { temp: 21 } });
    const anonymous = await curl('--cacert', certificate.cert, `${t.url}/v1/twins/tls-1`);
    expect(anonymous.status).toBe(401);
  });

  it('is refused by curl without the certificate as CA (it is really our TLS)', async () => {
    const untrusted = await curl(`${t.url}/healthz`);
    expect(untrusted.code).toBe(60); // curl: peer certificate cannot be authenticated with known CA certificates
    expect(untrusted.status).toBe(0);
  });

  it('does not answer plain HTTP on the TLS port (no silent downgrade)', async () => {
    const plain = await curl(`http://127.0.0.1:${t.server.httpPort}/healthz`);
    expect(plain.code).not.toBe(0);
    expect(plain.status).not.toBe(200);
    await expect(fetch(`http://127.0.0.1:${t.server.httpPort}/healthz`)).rejects.toThrow();
  });
});

describe('WSS on the same port', () => {
  it('delivers a change event to a subscription over wss://', async () => {
    await curl('--cacert', certificate.cert, ...bearer, '-H', 'content-type: application/json',
      '-X', 'POST', `${t.url}/v1/twins`, '-d', JSON.stringify({ id: 'tls-ws', desired: { mode: 'eco' } }));
    const ws = new WebSocket(`wss://127.0.0.1:${t.server.httpPort}/v1/ws`, { ca: certificate.pem, headers: { authorization: `Bearer ${ADMIN}` } });
    const messages: Array<Record<string, unknown>> = [];
    let arrived: () => void = () => {};
    ws.on('message', (data) => { messages.push(JSON.parse(String(data)) as Record<string, unknown>); arrived(); });
    const waitFor = (test: (m: Record<string, unknown>) => boolean) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(messages)}`)), 15_000);
      const check = () => { const m = messages.find(test); if (m !== undefined) { clearTimeout(timer); resolve(m); } };
      arrived = check;
      check();
    });
    try {
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
      ws.send(JSON.stringify({ op: 'subscribe', ref: 's', twins: ['tls-ws'] }));
      await waitFor((m) => m.op === 'snapshot');
      const patched = await curl('--cacert', certificate.cert, ...bearer, '-H', 'content-type: application/json',
        '-X', 'PATCH', `${t.url}/v1/twins/tls-ws`, '-d', JSON.stringify({ desired: { mode: 'boost' } }));
      expect(patched.status).toBe(200);
      expect(await waitFor((m) => m.op === 'change')).toMatchObject({ event: { twin: 'tls-ws', version: 2, patch: { desired: { mode: 'boost' } } } });
    } finally {
      ws.terminate();
    }
  });

  it('refuses a wss:// client that does not trust the certificate', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${t.server.httpPort}/v1/ws`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const error = await new Promise<Error>((resolve) => { ws.once('error', resolve); ws.once('open', () => resolve(new Error('opened'))); });
    expect(error.message).toMatch(/self-signed|certificate/i);
    ws.terminate();
  });
});
