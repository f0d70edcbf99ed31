/**
 * @module
 * Webhook target: each event is one JSON POST, signed with HMAC-SHA256 of the raw body (RFC 2104)
 * under the connector's secret, so the receiver can check origin and integrity.
 */
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import type { Pool } from 'undici';
import type { OutboxEntry } from '../../store/types.ts';
import { DeliveryError } from './target.ts';
import type { Target } from './target.ts';

/** How long one POST may take before it counts as failed (a hung receiver must not stall forever). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Keep-alive connections to one receiver at most (the worker has at most 16 deliveries in flight). */
const CONNECTIONS = 32;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookTarget(opts: { url: string; secret: string; timeoutMs?: number }): Target {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const url = new URL(opts.url);
  const path = `${url.pathname}${url.search}`;
  // Credentials in the URL go as Basic auth, as node:http and fetch send them.
  const auth = url.username === '' && url.password === '' ? null
    : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  // An undici pool of keep-alive connections rather than node:http or fetch: measured on this
  // path, node:http cost 2.6 times undici's client CPU per POST, and fetch more still. Loaded on
  // first use: a server without webhooks never loads it.
  let pool: Promise<Pool> | null = null;
  let closed = false;
  const connected = (): Promise<Pool> => (pool ??= import('undici').then(({ Pool: UndiciPool }) => new UndiciPool(url.origin, {
    connections: CONNECTIONS, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs,
  })));
  return {
    async send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      if (closed) throw new DeliveryError('webhook POST failed: closed');
      const headers: Record<string, string> = {
        'content-type': 'application/json', 'doppel-event-id': entry.eventId, 'doppel-signature': signature(opts.secret, body),
      };
      if (auth !== null) headers.authorization = auth;
      let status: number;
      let retryAfter: string | string[] | undefined;
      try {
        const res = await (await connected()).request({ method: 'POST', path, headers, body, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        status = res.statusCode;
        retryAfter = res.headers['retry-after'];
        // The body is not needed; draining it frees the connection for reuse.
        await res.body.dump();
      } catch (err) {
        throw new DeliveryError(`webhook POST failed: ${signal.aborted ? 'aborted' : describe(err, timeoutMs)}`);
      }
      if (status < 200 || status >= 300) throw new DeliveryError(`webhook answered ${status}`, retryAfterMs(typeof retryAfter === 'string' ? retryAfter : null));
    },
    async close(): Promise<void> {
      closed = true;
      const pending = pool;
      pool = null;
      // Destroyed, not closed: a hung receiver must not hold up the stop.
      if (pending !== null) await pending.then((p) => p.destroy()).catch(() => undefined);
    },
  };
}

/** undici's timeouts say which phase ran out; the operator wants the limit they set. */
function describe(err: unknown, timeoutMs: number): string {
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: unknown }).cause;
  const message = err instanceof Error ? err.message : String(err);
  return cause instanceof Error && cause.message !== message ? `${message}: ${cause.message}` : message;
}

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
