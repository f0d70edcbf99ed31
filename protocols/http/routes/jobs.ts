/**
 * Fleet jobs over HTTP: start (admin, or a key with `twins:write`, confined to the key's prefix),
 * follow, list and cancel. The work itself is actors/job-service.ts.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { authorize, listingPrefix } from '../../../src/auth/index.ts';
import type { Principal } from '../../../src/auth/index.ts';
import { DoppelError } from '../../../src/errors.ts';
import { publicJob } from '../../../src/job/types.ts';
import type { JobAction } from '../../../src/job/types.ts';
import { MAX_TTL_SECONDS } from '../../../src/twin/commands.ts';
import { assertNoForbiddenKeys, isPlainObject } from '../../../src/twin/index.ts';
import type { JsonObject } from '../../../src/twin/types.ts';
import type { JobService } from '../../../actors/job-service.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Ctx, Env, RouteTable } from '../route.ts';
import { problems } from './problems.ts';

const TAG = 'Jobs';

const JobBody = z.object({
  filter: z.string().min(1).describe('Which twins: the filter language of `GET /v1/twins?filter=`, evaluated on each twin when the job reaches it'),
  prefix: z.string().max(128).regex(/^[A-Za-z0-9._:-]*$/, 'must be a twin id prefix').optional().describe('Only twins whose id starts with this (default: all the credential reaches)'),
  // Passed through untouched (zod's record would silently drop `__proto__`); checked below like a twin PATCH.
  desired: z.unknown().meta({ type: 'object', additionalProperties: true, description: 'A desired merge patch (RFC 7396) applied to each matching twin' }).optional(),
  command: z.object({
    name: z.string(), payload: z.unknown().optional(),
    ttlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS).describe('The queued command waits this long for its device'),
  }).strict().optional().describe('A queued command sent to each matching twin'),
}).strict().refine((b) => (b.desired === undefined) !== (b.command === undefined), { message: 'give exactly one of desired or command' });

const JobSchema = z.object({
  id: z.string(), status: z.enum(['running', 'completed', 'cancelled']), filter: z.string(), prefix: z.string(),
  desired: z.record(z.string(), z.unknown()).optional(), command: z.object({ name: z.string(), payload: z.unknown().optional(), ttlSeconds: z.number() }).optional(),
  matched: z.number().int().describe('Twins that matched the filter when the job reached them'),
  done: z.number().int().describe('Twins the patch or command was applied to'),
  failed: z.number().int().describe('Matching twins that refused it (e.g. too_large); the job went on'),
  scanned: z.number().int().describe('Twins looked at so far'),
  createdAt: z.string(), updatedAt: z.string(), endedAt: z.string().optional(),
});
const JobList = z.object({ items: z.array(JobSchema) });
const JobId = z.string().min(1).max(64);

const jobId = (c: Ctx) => parseWith(JobId, c.req.param('id'), 'job id');
const conflict = (description: string) => ({ ...problems()[503]!, description });

/** The prefix a job may cover: the asked one, inside the key's own prefix (else `forbidden`). */
function jobPrefix(principal: Principal, asked: string | undefined): string {
  const allowed = listingPrefix(principal);
  if (asked === undefined) return allowed;
  if (!asked.startsWith(allowed)) throw new DoppelError('forbidden', `Forbidden: this key is limited to twins starting with "${allowed}"`);
  return asked;
}

/** `jobs` is missing where the app is built without a server (OpenAPI tests): the routes then answer unavailable. */
function need(jobs: JobService | undefined): JobService {
  if (jobs === undefined) throw new DoppelError('unavailable', 'Fleet jobs are not available here');
  return jobs;
}

export interface JobRouteDeps { jobs: JobService | undefined; maxBodyBytes: number }

export function jobRoutes(app: Hono<Env>, table: RouteTable, deps: JobRouteDeps): void {
  const service = deps.jobs;
  const jobs = {
    get: (id: string) => need(service).get(id), list: () => need(service).list(), cancel: (id: string) => need(service).cancel(id),
    start: (def: Parameters<JobService['start']>[0]) => need(service).start(def),
  };
  register(app, table, {
    method: 'post', path: '/v1/jobs', tag: TAG, auth: 'bearer', summary: 'Start a fleet job',
    description: 'Applies one desired patch, or queues one command, on every twin under `prefix` whose state matches `filter` when the job reaches it (twins in id order). Admin token, or a key with `twins:write` (confined to its prefix: a `prefix` outside it is 403). Runs in the background, paced so device requests keep their latency, survives restarts and never applies its patch twice to one twin. A bad filter is 400 `invalid_request` with `details.position`.',
    body: JobBody,
    responses: { 202: { description: 'The job, running', schema: JobSchema, headers: { Location: 'The job\'s URL' } }, ...problems(400, 401, 403, 413, 415, 429, 503) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'twins:write');
    const body = parseWith(JobBody, await readJson(c.req.raw, deps.maxBodyBytes), 'job');
    const prefix = jobPrefix(principal, body.prefix);
    if (body.desired !== undefined) {
      // Refused once, here, rather than once per matching twin.
      if (!isPlainObject(body.desired)) throw new DoppelError('invalid_document', '"desired" must be an object');
      assertNoForbiddenKeys(body.desired, '"desired"');
    }
    const action: JobAction = body.desired !== undefined
      ? { desired: body.desired as JsonObject }
      : { command: { name: body.command!.name, ttlSeconds: body.command!.ttlSeconds, ...(body.command!.payload === undefined ? {} : { payload: body.command!.payload }) } };
    const job = await jobs.start({ filter: body.filter, prefix, ...action });
    c.header('location', `/v1/jobs/${job.id}`);
    return c.json(publicJob(job), 202);
  });

  register(app, table, {
    method: 'get', path: '/v1/jobs', tag: TAG, auth: 'bearer', summary: 'List fleet jobs',
    description: 'Newest first; a key with a prefix sees the jobs inside its prefix.',
    responses: { 200: { description: 'The jobs', schema: JobList }, ...problems(401, 403, 429) },
  }, async (c) => {
    const principal = c.get('principal');
    authorize(principal, 'twins:read');
    const allowed = listingPrefix(principal);
    return c.json({ items: (await jobs.list()).filter((j) => j.prefix.startsWith(allowed)).map(publicJob) });
  });

  const visible = async (c: Ctx, action: 'twins:read' | 'twins:write') => {
    const principal = c.get('principal');
    authorize(principal, action);
    const job = await jobs.get(jobId(c));
    jobPrefix(principal, job.prefix);
    return job;
  };

  register(app, table, {
    method: 'get', path: '/v1/jobs/:id', tag: TAG, auth: 'bearer', summary: 'Get a fleet job (its progress)',
    description: '`status` is `running`, then `completed` or `cancelled`; `matched`, `done`, `failed` and `scanned` count the twins handled so far.',
    responses: { 200: { description: 'The job', schema: JobSchema }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => c.json(publicJob(await visible(c, 'twins:read'))));

  register(app, table, {
    method: 'delete', path: '/v1/jobs/:id', tag: TAG, auth: 'bearer', summary: 'Cancel a fleet job',
    description: 'Stops the job after the twins in flight; what it already applied stays. An ended job is 409 `job_ended`.',
    responses: { 200: { description: 'The job, cancelled', schema: JobSchema }, ...problems(400, 401, 403, 404, 429), 409: conflict('job_ended: it already completed or was cancelled') },
  }, async (c) => {
    const job = await visible(c, 'twins:write');
    return c.json(publicJob(await jobs.cancel(job.id)));
  });
}
