/**
 * Twin CRUD, listing and device tokens (CONTRACT §5).
 */
import type { Hono } from 'hono';
import { authorize, can, listingPrefix } from '../../../src/auth/index.ts';
import type { Principal } from '../../../src/auth/index.ts';
import { DoppelError } from '../../../src/errors.ts';
import { parseFilter } from '../../../src/query/index.ts';
import { isTwinId, publicTwinJson, selectFields, toDeviceView, toPublicTwin } from '../../../src/twin/index.ts';
import type { TwinState } from '../../../src/twin/types.ts';
import type { TwinService } from '../../../actors/index.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Ctx, Env, RouteTable } from '../route.ts';
import {
  CreateTwinBody, DeviceViewSchema, GetQuery, ListQuery, PatchTwinBody, TokenReply, TwinId, TwinPage, TwinSchema,
} from '../schemas.ts';
import { etag, ifMatchVersion, noneMatchHits } from '../versions.ts';
import { PageWriter } from '../page.ts';
import { jsonReply } from '../reply.ts';
import { problems } from './problems.ts';

export interface TwinRouteDeps { twins: TwinService; maxBodyBytes: number }

const NO_QUERY: { fields?: string } = {};

/** Twins examined per page at most when a filter is given, so one request cannot scan forever. */
const SCAN_BUDGET = 10_000;

export function twinId(c: Ctx): string {
  const id = c.req.param('id');
  // zod's rule is isTwinId's: only a bad id needs the parse, for its message.
  return isTwinId(id) ? id : parseWith(TwinId, id, 'twin id');
}

export function publicTwin(twins: TwinService, state: TwinState) {
  return toPublicTwin(state, twins.connection(state));
}

function withToken<T extends object>(body: T, clientToken: string | undefined): T {
  return clientToken === undefined ? body : { ...body, clientToken };
}

/**
 * The reply to a write: the whole twin for callers who may read it, otherwise only its id and
 * version, so a write-only key cannot read twins through the replies of (no-op) writes.
 */
function writeReply(twins: TwinService, principal: Principal, state: TwinState, clientToken: string | undefined) {
  const body = can(principal, 'twins:read', state.id) ? publicTwin(twins, state) : { id: state.id, version: state.version };
  return withToken(body, clientToken);
}

export function twinRoutes(app: Hono<Env>, table: RouteTable, deps: TwinRouteDeps): void {
  const { twins } = deps;

  register(app, table, {
    method: 'post', path: '/v1/twins', tag: 'Twins', auth: 'bearer', summary: 'Create a twin',
    description: 'Creates a twin at version 1 with optional initial desired state and tags. Emits the change event of version 1.',
    body: CreateTwinBody,
    responses: { 201: { description: 'Created: the twin, or only {id, version} for a key without twins:read', schema: TwinSchema, headers: { Location: 'URL of the twin', ETag: 'The version' } }, ...problems(400, 401, 403, 409, 413, 415, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'twins:write'); // before reading the body: a device token gets 403, not 400
    const body = parseWith(CreateTwinBody, await readJson(c.req.raw, deps.maxBodyBytes), 'twin');
    authorize(principal, 'twins:write', body.id);
    const ctx = body.clientToken === undefined ? { via: 'http' as const } : { via: 'http' as const, clientToken: body.clientToken };
    const { state } = await twins.create(body.id, { desired: body.desired, tags: body.tags }, ctx);
    c.header('location', `/v1/twins/${encodeURIComponent(state.id)}`);
    c.header('etag', etag(state.version));
    return c.json(writeReply(twins, principal, state, body.clientToken), 201);
  });

  register(app, table, {
    method: 'get', path: '/v1/twins/:id', tag: 'Twins', auth: 'bearer', summary: 'Get a twin',
    description: 'The whole twin, or with `fields` only the named fields. With a device token of this twin, the device view {version, desired, reported, delta}.',
    query: GetQuery, headers: { 'If-None-Match': 'A version ETag; answers 304 when unchanged' },
    responses: { 200: { description: 'The twin (the device view for a device token)', schema: TwinSchema.or(DeviceViewSchema) }, 304: { description: 'Not modified' }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    const principal = c.get('principal');
    // Most reads carry no query: parse one only when there is one.
    const { fields } = c.req.url.includes('?') ? parseWith(GetQuery, c.req.query(), 'query') : NO_QUERY;
    let state: TwinState;
    if (principal.kind === 'device') {
      authorize(principal, 'device:read', id);
      state = await twins.touch(id, 'http');
    } else {
      authorize(principal, 'twins:read', id);
      // A resident twin's committed state needs no trip through its mailbox.
      state = twins.resident(id) ?? await twins.get(id);
    }
    const tag = etag(state.version);
    if (noneMatchHits(c.req.header('if-none-match') ?? null, state.version)) return c.body(null, 304, { etag: tag });
    if (principal.kind === 'device') return jsonReply(c, JSON.stringify(toDeviceView(state)), { etag: tag });
    if (fields === undefined) return jsonReply(c, publicTwinJson(state, twins.connection(state)), { etag: tag });
    const twin = publicTwin(twins, state);
    return jsonReply(c, JSON.stringify(selectFields(twin, fields.split(',').map((f) => f.trim()).filter((f) => f !== ''))), { etag: tag });
  });

  register(app, table, {
    method: 'patch', path: '/v1/twins/:id', tag: 'Twins', auth: 'bearer', summary: 'Patch desired state and tags',
    description: 'JSON Merge Patch (RFC 7396) of desired and/or tags. A patch that changes nothing answers the current version and emits no event.',
    body: PatchTwinBody, bodyTypes: ['application/merge-patch+json', 'application/json'],
    headers: { 'If-Match': 'Expected version; 412 version_conflict on mismatch' },
    responses: { 200: { description: 'The twin after the patch, or only {id, version} for a key without twins:read', schema: TwinSchema }, ...problems(400, 401, 403, 404, 412, 413, 415, 429) },
  }, async (c) => {
    const id = twinId(c);
    const principal = c.get('principal');
    authorize(principal, 'twins:write', id);
    const body = parseWith(PatchTwinBody, await readJson(c.req.raw, deps.maxBodyBytes), 'patch');
    const ifVersion = ifMatchVersion(c.req.header('if-match') ?? null);
    const patch: { desired?: unknown; tags?: unknown } = {};
    if (body.desired !== undefined) patch.desired = body.desired;
    if (body.tags !== undefined) patch.tags = body.tags;
    const ctx = { via: 'http' as const, ...(body.clientToken === undefined ? {} : { clientToken: body.clientToken }), ...(ifVersion === undefined ? {} : { ifVersion }) };
    const { state } = await twins.patch(id, patch, ctx);
    return jsonReply(c, JSON.stringify(writeReply(twins, principal, state, body.clientToken)), { etag: etag(state.version) });
  });

  register(app, table, {
    method: 'delete', path: '/v1/twins/:id', tag: 'Twins', auth: 'bearer', summary: 'Delete a twin',
    description: 'Deletes the twin, its history and its device token. Emits no change event; open streams end.',
    headers: { 'If-Match': 'Expected version; 412 version_conflict on mismatch' },
    responses: { 204: { description: 'Deleted' }, ...problems(400, 401, 403, 404, 412, 429) },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:write', id);
    await twins.remove(id, ifMatchVersion(c.req.header('if-match') ?? null));
    return c.body(null, 204);
  });

  register(app, table, {
    method: 'get', path: '/v1/twins', tag: 'Twins', auth: 'bearer', summary: 'List twins',
    description: 'A page of twins in id order. `next` is the cursor of the following page, null on the last one. With a filter, at most 10,000 twins are examined per page, and a page ends early at about 4 MiB: a page may then hold fewer items than `limit` while `next` is not null.',
    query: ListQuery,
    responses: { 200: { description: 'A page of twins', schema: TwinPage }, ...problems(400, 401, 403, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'twins:read');
    const q = parseWith(ListQuery, c.req.query(), 'query');
    const filter = q.filter === undefined ? null : parseFilter(q.filter);
    const prefix = effectivePrefix(principal, q.prefix);
    if (prefix === null) return c.json({ items: [], next: null });
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const page = new PageWriter<string>();
    let scanned = 0;
    let exhausted = true;
    for await (const state of twins.list({ prefix, ...(after === undefined ? {} : { after }) })) {
      if (page.count >= q.limit || scanned >= SCAN_BUDGET) { exhausted = false; break; }
      scanned++;
      const twin = publicTwin(twins, state);
      if (filter !== null && !filter.test(twin)) { page.skip(state.id); continue; }
      if (!page.add(state.id, twin)) { exhausted = false; break; }
    }
    const last = page.lastKey;
    return c.body(page.body(exhausted || last === undefined ? null : encodeCursor(last)), 200, { 'content-type': 'application/json' });
  });

  register(app, table, {
    method: 'post', path: '/v1/twins/:id/token', tag: 'Devices', auth: 'bearer', summary: 'Issue or rotate the device token',
    description: 'Returns a new device token for the twin, shown once. The previous token stops working immediately.',
    responses: { 201: { description: 'The new token', schema: TokenReply }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:write', id);
    const token = await twins.issueDeviceToken(id);
    c.header('cache-control', 'no-store');
    return c.json({ token }, 201);
  });
}

/** The prefix a listing may cover: the request's within the key's; null when they are disjoint. */
function effectivePrefix(principal: Principal, requested: string | undefined): string | null {
  const allowed = listingPrefix(principal);
  const asked = requested ?? '';
  if (asked.startsWith(allowed)) return asked;
  if (allowed.startsWith(asked)) return allowed;
  return null;
}

const encodeCursor = (id: string): string => btoa(id).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function decodeCursor(cursor: string): string {
  try {
    const id = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    if (/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id)) return id;
  } catch { /* fall through */ }
  throw new DoppelError('invalid_request', `Invalid cursor "${cursor}": pass the "next" of a previous page`);
}
