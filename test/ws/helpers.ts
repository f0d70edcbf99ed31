/**
 * Helpers for the WebSocket integration tests: a real `ws` client that queues every frame it
 * receives, so tests wait for messages with deadlines (never fixed sleeps) and see exactly what
 * went over the wire; handshake probes for refused upgrades; twin fixtures over HTTP.
 */
import { expect } from 'vitest';
import WebSocket from 'ws';
import { ADMIN } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

export type Json = Record<string, unknown>;
export type Msg = Json & { op: string };

export const wsUrl = (t: TestServer, query = ''): string => `${t.url.replace(/^http/, 'ws')}/v1/ws${query}`;

export interface Client {
  readonly ws: WebSocket;
  /** Every frame received, in order (parsed). */
  readonly received: Msg[];
  send(message: unknown): void;
  /** Removes and returns the first queued message matching `test`, waiting for it up to `timeoutMs`. */
  next(test?: (m: Msg) => boolean, timeoutMs?: number): Promise<Msg>;
  /** The next `n` messages matching `test`, in order. */
  take(n: number, test?: (m: Msg) => boolean, timeoutMs?: number): Promise<Msg[]>;
  /** Sends `message` with a fresh `ref` and waits for the reply carrying it. */
  request(message: Json, timeoutMs?: number): Promise<Msg>;
  /** Waits (without taking anything) until `done()` holds, re-checking on every message. */
  waitFor(done: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Messages queued and not taken yet. */
  pending(): Msg[];
  /** Resolves with the close code and reason once the connection is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

let refs = 0;

/** Opens a WebSocket with `token` (Bearer header, or `?access_token=` with `{ query: true }`). */
export async function connect(t: TestServer, token: string = ADMIN, opts: { query?: boolean } = {}): Promise<Client> {
  const ws = opts.query === true
    ? new WebSocket(wsUrl(t, `?access_token=${encodeURIComponent(token)}`))
    : new WebSocket(wsUrl(t), { headers: { authorization: `Bearer ${token}` } });
  const received: Msg[] = [];
  const queue: Msg[] = [];
  const waiters = new Set<() => void>();
  const wakeAll = () => { for (const w of [...waiters]) w(); };
  ws.on('message', (data, isBinary) => {
    expect(isBinary, 'the server sends text frames only').toBe(false);
    const m = JSON.parse(String(data)) as Msg;
    received.push(m);
    queue.push(m);
    wakeAll();
  });
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => { isClosed = true; wakeAll(); resolve({ code, reason: reason.toString() }); });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });

  const next = async (test: (m: Msg) => boolean = () => true, timeoutMs = 10_000): Promise<Msg> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = queue.findIndex(test);
      if (i >= 0) return queue.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (isClosed) throw new Error(`connection closed while waiting; queued: ${JSON.stringify(queue).slice(0, 500)}`);
      if (left <= 0) throw new Error(`timed out waiting for a message; queued: ${JSON.stringify(queue).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); waiters.delete(done); resolve(); };
        const timer = setTimeout(done, left);
        waiters.add(done);
      });
    }
  };

  const client: Client = {
    ws, received, closed,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next,
    async take(n, test, timeoutMs = 10_000) {
      const out: Msg[] = [];
      while (out.length < n) out.push(await next(test, timeoutMs));
      return out;
    },
    async request(message, timeoutMs) {
      const ref = `r${++refs}`;
      client.send({ ...message, ref });
      return next((m) => m.ref === ref, timeoutMs);
    },
    async waitFor(done, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        const left = deadline - Date.now();
        if (isClosed) throw new Error(`connection closed while waiting for ${what}`);
        if (left <= 0) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const wake = () => { clearTimeout(timer); waiters.delete(wake); resolve(); };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
    pending: () => [...queue],
    close: () => { if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(); },
  };
  return client;
}

/** Attempts a handshake: status 101 when it was accepted (the socket is closed again), else the HTTP refusal. */
export function handshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => { ws.close(); resolve({ status: 101, headers: {}, body: '' }); });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
  });
}

export async function expectJson<T = Json>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

export async function createTwin(t: TestServer, id: string, init: { desired?: Json; tags?: Json } = {}): Promise<Json & { version: number }> {
  return expectJson(await t.call('POST', '/v1/twins', { body: { id, ...init } }), 201);
}

export async function getTwin(t: TestServer, id: string): Promise<Json & { version: number }> {
  return expectJson(await t.call('GET', `/v1/twins/${id}`), 200);
}

export async function patchTwin(t: TestServer, id: string, body: Json, token?: string): Promise<Json & { version: number }> {
  return expectJson(await t.call('PATCH', `/v1/twins/${id}`, { body, ...(token === undefined ? {} : { token }) }), 200);
}

export async function deviceToken(t: TestServer, id: string): Promise<string> {
  return (await expectJson<{ token: string }>(await t.call('POST', `/v1/twins/${id}/token`), 201)).token;
}

export async function createKey(t: TestServer, body: Json): Promise<string> {
  return (await expectJson<{ token: string }>(await t.call('POST', '/v1/keys', { body }), 201)).token;
}

export { eventually } from '../support/eventually.ts';

export { metric } from '../support/metric.ts';

/** Versions of the `change` events about `twin` among `messages`. */
export const changeVersions = (messages: readonly Msg[], twin: string): number[] =>
  messages.filter((m) => m.op === 'change' && (m.event as Json).twin === twin).map((m) => (m.event as Json).version as number);

export const isChangeOf = (twin: string) => (m: Msg) => m.op === 'change' && (m.event as Json).twin === twin;
export const isSnapshotOf = (twin: string) => (m: Msg) => m.op === 'snapshot' && (m.twin as Json).id === twin;
