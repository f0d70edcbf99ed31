/**
 * @module
 * Webhook target: each event is one JSON POST, signed with HMAC-SHA256 of the raw body (RFC 2104)
 * under the connector's secret, so the receiver can check origin and integrity.
 */
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  const url = new URL(opts.url);
  // node:http with a keep-alive agent rather than fetch: measured under CoAP load, fetch cost
  // several times the server CPU per delivered event.
  const agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 32 }) : new HttpAgent({ keepAlive: true, maxSockets: 32 });
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const payload = Buffer.from(body);
        const req = request(url, {
          method: 'POST', agent,
          headers: {
            'content-type': 'application/json', 'content-length': payload.byteLength,
            'doppel-event-id': entry.eventId, 'doppel-signature': signature(opts.secret, body),
          },
        });
        let settled = false;
        const finish = (err?: DeliveryError) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (err === undefined) resolve(); else reject(err);
        };
        const timer = setTimeout(() => { finish(new DeliveryError(`webhook POST failed: no answer within ${timeoutMs} ms`)); req.destroy(); }, timeoutMs);
        const onAbort = () => { finish(new DeliveryError('webhook POST failed: aborted')); req.destroy(); };
        signal.addEventListener('abort', onAbort, { once: true });
        req.once('error', (err) => finish(new DeliveryError(`webhook POST failed: ${err.message}`)));
        req.once('response', (res) => {
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          // The body is not needed; draining it frees the connection for reuse.
          res.resume();
          res.once('end', () => {
            if (status >= 200 && status < 300) finish();
            else finish(new DeliveryError(`webhook answered ${status}`, retryAfterMs(typeof retryAfter === 'string' ? retryAfter : null)));
          });
          res.once('error', (err) => finish(new DeliveryError(`webhook POST failed: ${err.message}`)));
        });
        req.end(payload);
      });
    },
    close: () => { agent.destroy(); return Promise.resolve(); },
  };
}

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
