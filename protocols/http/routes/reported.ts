/**
 * Reported state over HTTP, for gateways and HTTP devices holding the twin's device token.
 */
import type { Hono } from 'hono';
import { authorize } from '../../../src/auth/index.ts';
import { toDeviceView } from '../../../src/twin/index.ts';
import type { TwinService } from '../../../actors/index.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { DeviceViewSchema, ReportedPatchBody, ReportedQuery } from '../schemas.ts';
import { etag, ifMatchVersion } from '../versions.ts';
import { problems } from './problems.ts';
import { twinId } from './twins.ts';

export function reportedRoutes(app: Hono<Env>, table: RouteTable, deps: { twins: TwinService; maxBodyBytes: number }): void {
  register(app, table, {
    method: 'patch', path: '/v1/twins/:id/reported', tag: 'Devices', auth: 'bearer', summary: 'Report device state',
    description: 'JSON Merge Patch of reported, with the device token of this twin (or the admin token). The body is the patch itself. Replies with the device view so the device learns its pending delta in the same exchange.',
    body: ReportedPatchBody, bodyTypes: ['application/merge-patch+json', 'application/json'], query: ReportedQuery,
    headers: { 'If-Match': 'Expected version; 412 version_conflict on mismatch' },
    responses: { 200: { description: 'The device view after the patch', schema: DeviceViewSchema }, ...problems(400, 401, 403, 404, 412, 413, 415, 429) },
  }, async (c) => {
    const id = twinId(c);
    const principal = c.get('principal');
    authorize(principal, 'device:report', id);
    const { clientToken } = parseWith(ReportedQuery, c.req.query(), 'query');
    const reported = await readJson(c.req.raw, deps.maxBodyBytes);
    const ifVersion = ifMatchVersion(c.req.header('if-match') ?? null);
    const { state } = await deps.twins.patch(id, { reported }, {
      via: 'http', deviceContact: principal.kind === 'device',
      ...(clientToken === undefined ? {} : { clientToken }), ...(ifVersion === undefined ? {} : { ifVersion }),
    });
    c.header('etag', etag(state.version));
    const view = toDeviceView(state);
    return c.json(clientToken === undefined ? view : { ...view, clientToken });
  });
}
