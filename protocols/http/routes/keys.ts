/**
 * API keys (CONTRACT §4): created by the admin or a `keys:admin` key, shown once, stored hashed.
 * A key manages (lists, creates, deletes) only keys within its own scopes and prefix, so
 * `keys:admin` never escalates, nor revokes keys more powerful than itself.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { authorize } from '../../../src/auth/index.ts';
import type { Credentials, Principal } from '../../../src/auth/index.ts';
import { DoppelError } from '../../../src/errors.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { CreateKeyBody, CreatedKey, KeyList } from '../schemas.ts';
import { problems } from './problems.ts';

export function keyRoutes(app: Hono<Env>, table: RouteTable, deps: { credentials: Credentials; maxBodyBytes: number; now: () => Date }): void {
  const { credentials } = deps;

  register(app, table, {
    method: 'post', path: '/v1/keys', tag: 'Keys', auth: 'bearer', summary: 'Create an API key',
    description: 'Scopes: twins:read, twins:write, keys:admin; optionally limited to twin ids starting with `prefix`. The token is shown once.',
    body: CreateKeyBody,
    responses: { 201: { description: 'The key and its token', schema: CreatedKey }, ...problems(400, 401, 403, 413, 415, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'keys:admin');
    const body = parseWith(CreateKeyBody, await readJson(c.req.raw, deps.maxBodyBytes), 'key');
    checkNoEscalation(principal, body.scopes, body.prefix ?? null);
    const { key, token } = await credentials.createKey({ name: body.name ?? null, scopes: body.scopes, prefix: body.prefix ?? null }, deps.now().toISOString());
    c.header('cache-control', 'no-store');
    c.header('location', `/v1/keys/${key.id}`);
    return c.json({ ...key, token }, 201);
  });

  register(app, table, {
    method: 'get', path: '/v1/keys', tag: 'Keys', auth: 'bearer', summary: 'List API keys',
    description: 'Every key the caller may manage (for a keys:admin key, those within its scopes and prefix), with its scopes and prefix; never the token.',
    responses: { 200: { description: 'The keys', schema: KeyList }, ...problems(401, 403, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'keys:admin');
    return c.json({ items: (await credentials.listKeys()).filter((k) => withinReach(principal, k)) });
  });

  register(app, table, {
    method: 'delete', path: '/v1/keys/:id', tag: 'Keys', auth: 'bearer', summary: 'Revoke an API key',
    description: 'The key stops working immediately. A keys:admin key may revoke only keys within its scopes and prefix.',
    responses: { 204: { description: 'Revoked' }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'keys:admin');
    const id = parseWith(z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 characters of A-Z a-z 0-9 _ -'), c.req.param('id'), 'key id');
    if (principal.kind === 'key') {
      const target = await credentials.getKey(id);
      if (target !== undefined && !withinReach(principal, target)) {
        throw new DoppelError('forbidden', 'Forbidden: a key can only manage keys within its own scopes and prefix');
      }
    }
    await credentials.deleteKey(id);
    return c.body(null, 204);
  });
}

/** Whether a key could have created `key`: none of its scopes missing, its prefix inside the key's own. */
function withinReach(principal: Principal, key: { scopes: readonly string[]; prefix: string | null }): boolean {
  if (principal.kind !== 'key') return true;
  if (!key.scopes.every((s) => principal.scopes.includes(s as never))) return false;
  return prefixWithin(principal, key.prefix);
}

function prefixWithin(principal: Principal, prefix: string | null): boolean {
  if (principal.kind !== 'key' || principal.prefix === null) return true;
  return prefix !== null && prefix.startsWith(principal.prefix);
}

function checkNoEscalation(principal: Principal, scopes: readonly string[], prefix: string | null): void {
  if (principal.kind !== 'key') return;
  const missing = scopes.filter((s) => !principal.scopes.includes(s as never));
  if (missing.length > 0) throw new DoppelError('forbidden', `Forbidden: a key cannot grant scopes it lacks (${missing.join(', ')})`);
  if (!prefixWithin(principal, prefix)) {
    throw new DoppelError('forbidden', `Forbidden: a key limited to "${principal.prefix}" can only create keys within that prefix`);
  }
}
