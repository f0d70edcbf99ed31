/**
 * Helpers shared by the HTTP integration tests: problem+json assertions, twin fixtures and a small
 * Server-Sent Events client over fetch streaming (the text/event-stream parsing is done here, so
 * the tests see exactly what goes over the wire).
 */
import { expect } from 'vitest';
import { ADMIN } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

export type Json = Record<string, unknown>;

export interface Problem { type: string; title: string; status: number; detail: string; code: string; instance?: string; details?: Json }

/** Asserts an RFC 9457 problem with our stable `code`, and returns it. */
export async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
  const text = await res.text();
  expect(res.status, `${code}: ${text}`).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as Problem;
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(body.type).toBe(`urn:doppel:problem:${code}`);
  expect(typeof body.detail).toBe('string');
  return body;
}

/** Asserts the status and returns the parsed JSON body. */
export async function expectJson<T = Json>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(text) as T;
}

export async function createTwin(t: TestServer, id: string, init: { desired?: Json; tags?: Json } = {}): Promise<Json> {
  return expectJson(await t.call('POST', '/v1/twins', { body: { id, ...init } }), 201);
}

export async function getTwin(t: TestServer, id: string): Promise<Json & { version: number }> {
  return expectJson(await t.call('GET', `/v1/twins/${id}`), 200);
}

export async function patchTwin(t: TestServer, id: string, body: Json, headers: Record<string, string> = {}): Promise<Json & { version: number }> {
  return expectJson(await t.call('PATCH', `/v1/twins/${id}`, { body, headers }), 200);
}

export async function deviceToken(t: TestServer, id: string): Promise<string> {
  const { token } = await expectJson<{ token: string }>(await t.call('POST', `/v1/twins/${id}/token`), 201);
  return token;
}

export interface HistoryEvent { twin: string; version: number; at: string; via: string; clientToken?: string; patch: Json; delta: Json }

export async function history(t: TestServer, id: string, since = 0, limit = 1000): Promise<{ items: HistoryEvent[]; next: number | null }> {
  return expectJson(await t.call('GET', `/v1/twins/${id}/history?since=${since}&limit=${limit}`), 200);
}

/** Everything a refused request must not have changed: the twin's content and its history. */
export async function snapshotOf(t: TestServer, id: string): Promise<{ twin: Json; events: number }> {
  const twin = await getTwin(t, id);
  const { items } = await history(t, id);
  return { twin, events: items.length };
}

export async function expectHealthy(t: TestServer): Promise<void> {
  const res = await t.call('GET', '/healthz', { token: null });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

export { eventually } from '../support/eventually.ts';

// ---------------------------------------------------------------------------------------------
// Server-Sent Events

/** `id` is the version part of the SSE id (`<version>.<incarnation>`); `rawId` the id as sent. */
export interface SseEvent { event: string; id: string | undefined; rawId: string | undefined; data: string }

export interface SseStream {
  readonly response: Response;
  /** The next event, or null once the server has ended the stream. Fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent | null>;
  /** The next `n` events (fails if the stream ends or times out first). */
  take(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** True once the server ended the stream and every event was taken. */
  readonly done: boolean;
  close(): void;
}

/**
 * Opens `GET path` as an event stream. A non-200 answer resolves with `stream: null` and the
 * response left unread, so the caller can check the problem document.
 */
export async function openSse(t: TestServer, path: string, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<{ response: Response; stream: SseStream | null }> {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers };
  const token = opts.token === undefined ? ADMIN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${t.url}${path}`, { headers, signal: abort.signal });
  if (response.status !== 200) return { response, stream: null };
  return { response, stream: sseStream(response, abort) };
}

function sseStream(response: Response, abort: AbortController): SseStream {
  const queue: SseEvent[] = [];
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => { const w = wake; wake = null; w?.(); };

  void (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        // Events are separated by a blank line (LF, CRLF or CR line endings).
        for (let m = /\r\n\r\n|\n\n|\r\r/.exec(buffer); m !== null; m = /\r\n\r\n|\n\n|\r\r/.exec(buffer)) {
          const block = buffer.slice(0, m.index);
          buffer = buffer.slice(m.index + m[0].length);
          const event = parseBlock(block);
          if (event !== null) { queue.push(event); notify(); }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) failure = err;
    }
    ended = true;
    notify();
  })();

  const next = async (timeoutMs = 10_000): Promise<SseEvent | null> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (failure !== null) throw failure;
      if (ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an SSE event');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
    return queue.shift()!;
  };

  return {
    response,
    next,
    async take(n, timeoutMs = 10_000) {
      const out: SseEvent[] = [];
      while (out.length < n) {
        const e = await next(timeoutMs);
        if (e === null) throw new Error(`stream ended after ${out.length} of ${n} events: ${JSON.stringify(out)}`);
        out.push(e);
      }
      return out;
    },
    get done() { return ended && queue.length === 0; },
    close() { abort.abort(); },
  };
}

/** One event block per the HTML standard's event-stream interpretation; null for comments only. */
function parseBlock(block: string): SseEvent | null {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  return { event, id: id?.split('.')[0], rawId: id, data: data.join('\n') };
}
