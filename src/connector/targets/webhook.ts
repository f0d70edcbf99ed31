/**
 * @module
 * Webhook target: each event is one JSON POST, signed with HMAC-SHA256 of the raw body (RFC 2104)
 * under the connector's secret, so the receiver can check origin and integrity.
 */
import { createHmac } from 'node:crypto';
import type { OutboxEntry } from '../../store/types.ts';
import { DeliveryError } from './target.ts';
import type { Target } from './target.ts';

/** How long one POST may take before it counts as failed (a hung receiver must not stall forever). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookTarget(opts: { url: string; secret: string; timeoutMs?: number }): Target {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    async send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      // One controller per request, not AbortSignal.any: composed signals pile up on the worker's
      // long-lived signal in Node 20 and made each delivery measurably slower as they accumulated.
      const request = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; request.abort(); }, timeoutMs);
      const stop = () => request.abort();
      signal.addEventListener('abort', stop, { once: true });
      let res: Response;
      try {
        res = await fetch(opts.url, {
          method: 'POST', body, redirect: 'manual', signal: request.signal,
          headers: { 'content-type': 'application/json', 'doppel-event-id': entry.eventId, 'doppel-signature': signature(opts.secret, body) },
        });
        // The body is not needed; reading it frees the connection for reuse.
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        throw new DeliveryError(`webhook POST failed: ${timedOut ? `no answer within ${timeoutMs} ms` : causeOf(err)}`);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
      }
      if (res.status >= 200 && res.status < 300) return;
      throw new DeliveryError(`webhook answered ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
    },
    close: () => Promise.resolve(),
  };
}

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function causeOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}
