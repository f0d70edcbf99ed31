/**
 * Outbound connectors (issue 16): admin only. Definitions are validated at the edge (zod, then
 * URL scheme and filter syntax); the webhook secret is stored to sign deliveries and never shown.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Principal } from '../../../src/auth/index.ts';
import { ConnectorDefinition, ConnectorId } from '../../../src/connector/definition.ts';
import type { ConnectorRegistry } from '../../../src/connector/registry.ts';
import { DoppelError } from '../../../src/errors.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { problems } from './problems.ts';

const Connector = z.object({
  id: z.string(), kind: z.enum(['webhook', 'nats', 'mqtt']), url: z.string(), prefix: z.string().nullable(), filter: z.string().nullable(),
  events: z.array(z.enum(['change', 'deleted', 'command'])), maxAgeSeconds: z.number().int(), createdAt: z.string(),
  timeoutSeconds: z.number().int().optional(), subject: z.string().optional(), topic: z.string().optional(),
}).meta({ id: 'Connector' });
const ConnectorStatus = Connector.extend({
  delivered: z.number().int().describe('Events acknowledged by the target since this server started (cluster mode: since the connector was created)'),
  failed: z.number().int().describe('Failed delivery attempts since this server started (each is retried; cluster mode: since creation)'),
  dropped: z.number().int().describe('Events dropped undelivered (older than maxAgeSeconds; in cluster mode also trimmed by retention), since this server started (cluster mode: since creation)'),
  lag: z.number().describe('Seconds since the oldest undelivered event was written; 0 when caught up'),
  lastError: z.string().nullable(), state: z.enum(['healthy', 'failing']),
}).meta({ id: 'ConnectorStatus' });
const ConnectorList = z.object({ items: z.array(Connector) }).meta({ id: 'ConnectorList' });

function adminOnly(principal: Principal): void {
  if (principal.kind !== 'admin') throw new DoppelError('forbidden', 'Forbidden: connectors are managed with the admin token');
}

export function connectorRoutes(app: Hono<Env>, table: RouteTable, deps: { connectors: ConnectorRegistry; maxBodyBytes: number }): void {
  const { connectors } = deps;

  register(app, table, {
    method: 'post', path: '/v1/connectors', tag: 'Connectors', auth: 'bearer', summary: 'Create a connector',
    description: 'Forwards change events (and optionally deletions and command status changes) to a webhook, a NATS subject or an MQTT topic, '
      + 'through a durable outbox: at least once, in version order per twin. Admin token only. The webhook `secret` is stored to sign '
      + 'each delivery (HMAC-SHA256) and never returned.',
    body: ConnectorDefinition,
    responses: { 201: { description: 'The connector', schema: ConnectorStatus }, ...problems(400, 401, 403, 409, 413, 415) },
  }, async (c) => {
    adminOnly(c.get('principal'));
    const def = parseWith(ConnectorDefinition, await readJson(c.req.raw, deps.maxBodyBytes), 'connector');
    const created = await connectors.add(def);
    c.header('location', `/v1/connectors/${def.id}`);
    return c.json(created, 201);
  });

  register(app, table, {
    method: 'get', path: '/v1/connectors', tag: 'Connectors', auth: 'bearer', summary: 'List connectors',
    description: 'Every connector\'s definition, in id order, never its secret. Admin token only.',
    responses: { 200: { description: 'The connectors', schema: ConnectorList }, ...problems(401, 403) },
  }, async (c) => {
    adminOnly(c.get('principal'));
    return c.json({ items: await connectors.list() });
  });

  register(app, table, {
    method: 'get', path: '/v1/connectors/:id', tag: 'Connectors', auth: 'bearer', summary: 'Get a connector and its delivery state',
    description: 'The definition with `delivered`, `failed`, `dropped`, `lag`, `lastError` and `state` (healthy or failing). Admin token only.',
    responses: { 200: { description: 'The connector', schema: ConnectorStatus }, ...problems(400, 401, 403, 404) },
  }, async (c) => {
    adminOnly(c.get('principal'));
    return c.json(await connectors.view(parseWith(ConnectorId, c.req.param('id'), 'connector id')));
  });

  register(app, table, {
    method: 'delete', path: '/v1/connectors/:id', tag: 'Connectors', auth: 'bearer', summary: 'Delete a connector',
    description: 'Stops delivery and discards the connector\'s undelivered events. Admin token only.',
    responses: { 204: { description: 'Deleted' }, ...problems(400, 401, 403, 404) },
  }, async (c) => {
    adminOnly(c.get('principal'));
    await connectors.remove(parseWith(ConnectorId, c.req.param('id'), 'connector id'));
    return c.body(null, 204);
  });
}
