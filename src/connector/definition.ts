/**
 * @module
 * Connector definitions (issue 16): the zod schema of `POST /v1/connectors`, the checks zod cannot
 * express (URL scheme per kind, filter syntax), and the public view, which never shows the secret.
 */
import { z } from 'zod';
import { DoppelError, fail } from '../errors.ts';
import { parseFilter } from '../query/index.ts';
import type { ConnectorEventType, StoredConnector } from '../store/types.ts';

export const ConnectorId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 characters of A-Z a-z 0-9 _ -');
const EventType = z.enum(['change', 'deleted', 'command']);
/** NATS subject tokens: no wildcards or whitespace, no empty token (the NATS subject rules). */
const Subject = z.string().max(200).regex(/^[^.*>\s]+(\.[^.*>\s]+)*$/, 'must be dot-separated tokens without spaces, "*" or ">"');
/** MQTT topic levels: no wildcards (`+`, `#`) in a publish topic (MQTT 3.1.1 §4.7.1), no empty level. */
const Topic = z.string().max(200).regex(/^[^+#/\u0000]+(\/[^+#/\u0000]+)*$/, 'must be "/"-separated levels without "+", "#" or empty levels');

const Common = {
  id: ConnectorId,
  prefix: z.string().max(128).optional(),
  filter: z.string().max(4096).optional(),
  events: z.array(EventType).min(1).optional(),
  maxAgeSeconds: z.number().int().min(1).max(365 * 86400).optional(),
};

export const ConnectorDefinition = z.discriminatedUnion('kind', [
  z.strictObject({ ...Common, kind: z.literal('webhook'), url: z.string().max(2048), secret: z.string().min(16, 'must be at least 16 characters').max(256),
    timeoutSeconds: z.number().int().min(1).max(60).optional() }),
  z.strictObject({ ...Common, kind: z.literal('nats'), url: z.string().max(2048), subject: Subject }),
  z.strictObject({ ...Common, kind: z.literal('mqtt'), url: z.string().max(2048), topic: Topic }),
]);
export type ConnectorDefinition = z.output<typeof ConnectorDefinition>;

const SCHEMES: Readonly<Record<StoredConnector['kind'], readonly string[]>> = {
  webhook: ['http:', 'https:'],
  nats: ['nats:', 'tls:'],
  mqtt: ['mqtt:', 'mqtts:'],
};

/** Checks what the schema cannot and returns the record to store. Throws `invalid_request`. */
export function toStoredConnector(def: ConnectorDefinition, createdAt: string): StoredConnector {
  checkUrl(def.kind, def.url);
  if (def.filter !== undefined) {
    try {
      parseFilter(def.filter);
    } catch (err) {
      // The parser's message carries the position ("Cannot parse filter at 12: …").
      if (err instanceof DoppelError) throw new DoppelError('invalid_request', `Connector "filter": ${err.message}`, { details: err.details });
      throw err;
    }
  }
  const events = [...new Set<ConnectorEventType>(def.events ?? ['change'])];
  const out: StoredConnector = {
    id: def.id, kind: def.kind, prefix: def.prefix ?? null, filter: def.filter ?? null, events,
    maxAgeSeconds: def.maxAgeSeconds ?? 86400, url: def.url, createdAt,
  };
  if (def.kind === 'webhook') {
    out.secret = def.secret;
    if (def.timeoutSeconds !== undefined) out.timeoutSeconds = def.timeoutSeconds;
  }
  if (def.kind === 'nats') out.subject = def.subject;
  if (def.kind === 'mqtt') out.topic = def.topic;
  return out;
}

function checkUrl(kind: StoredConnector['kind'], url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail('invalid_request', `Connector "url" is not a URL: "${url}"`);
  }
  const schemes = SCHEMES[kind];
  if (!schemes.includes(parsed.protocol)) {
    throw fail('invalid_request', `Connector "url" of a ${kind} connector must use ${schemes.map((s) => s.slice(0, -1)).join(' or ')}: got "${parsed.protocol.slice(0, -1)}"`);
  }
  if (parsed.hostname === '') throw fail('invalid_request', `Connector "url" has no host: "${url}"`);
}

/** The definition as the API shows it: everything but the secret, and the URL without credentials. */
export function publicDefinition(c: StoredConnector): Record<string, unknown> {
  const url = new URL(c.url);
  url.username = '';
  url.password = '';
  const out: Record<string, unknown> = {
    id: c.id, kind: c.kind, url: url.toString(), prefix: c.prefix, filter: c.filter, events: c.events, maxAgeSeconds: c.maxAgeSeconds, createdAt: c.createdAt,
  };
  if (c.timeoutSeconds !== undefined) out.timeoutSeconds = c.timeoutSeconds;
  if (c.subject !== undefined) out.subject = c.subject;
  if (c.topic !== undefined) out.topic = c.topic;
  return out;
}
