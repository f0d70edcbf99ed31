/**
 * The self-description and operational endpoints (CONTRACT §5): /openapi.json is a complete,
 * self-contained OpenAPI 3.1 document of what the app serves, /docs renders it, and /healthz,
 * /readyz and /metrics answer without a credential.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createApp } from '../../protocols/http/index.ts';
import type { TwinStore } from '../../src/store/index.ts';
import type { TwinService } from '../../actors/index.ts';
import type { Credentials } from '../../src/auth/index.ts';
import type { ConnectorService } from '../../src/connector/service.ts';
import { silentLogger } from '../../src/log.ts';
import { createRegistry } from '../../src/metrics/index.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, expectJson, expectProblem } from './helpers.ts';
import type { Json } from './helpers.ts';

let t: TestServer;
let doc: Json & { openapi: string; paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json>; securitySchemes: Json } };

beforeAll(async () => {
  t = await startTestServer();
  doc = await expectJson(await t.call('GET', '/openapi.json', { token: null }), 200);
});
afterAll(async () => { await t.stop(); });

/** CONTRACT §5, every row: method and path in OpenAPI syntax. */
const CONTRACT_ROUTES = [
  'post /v1/twins', 'get /v1/twins/{id}', 'patch /v1/twins/{id}', 'patch /v1/twins/{id}/reported', 'delete /v1/twins/{id}',
  'get /v1/twins', 'get /v1/twins/{id}/history', 'get /v1/twins/{id}/events', 'post /v1/twins/{id}/token',
  'post /v1/keys', 'get /v1/keys', 'delete /v1/keys/{id}',
  'post /v1/twins/{id}/commands', 'get /v1/twins/{id}/commands', 'get /v1/twins/{id}/commands/{cid}',
  'delete /v1/twins/{id}/commands/{cid}', 'post /v1/twins/{id}/commands/{cid}/result',
  'post /v1/jobs', 'get /v1/jobs', 'get /v1/jobs/{id}', 'delete /v1/jobs/{id}',
  'post /v1/connectors', 'get /v1/connectors', 'get /v1/connectors/{id}', 'delete /v1/connectors/{id}',
  'get /healthz', 'get /readyz', 'get /metrics', 'get /openapi.json', 'get /docs',
];

/** Routes beyond the contract, each documented in the README. */
const EXTENSIONS = ['get /v1/backup', 'get /', 'get /asyncapi.json', 'get /docs/assets/{hash}/{file}', 'get /docs/reference/{page}', 'get /console', 'get /console/assets/{name}'];

const documented = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));

/** Resolves a local JSON pointer (`#/components/schemas/Twin`) in the document. */
function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const deref = (schema: Json): Json => (typeof schema.$ref === 'string' ? resolve(schema.$ref) as Json : schema);

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document served as JSON without a credential', async () => {
    const res = await t.call('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // Read it all: an unread large body keeps the connection busy and would delay the server's stop.
    expect(JSON.parse(await res.text())).toEqual(doc);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
  });

  it('documents every API and operations route of the contract', () => {
    const routes = documented();
    const api = CONTRACT_ROUTES.filter((r) => !r.endsWith('/openapi.json') && !r.endsWith('/docs'));
    for (const route of api) expect(routes, route).toContain(route);
    // Nothing documented that neither the contract nor our documented extensions list.
    for (const route of routes) expect([...CONTRACT_ROUTES, ...EXTENSIONS], route).toContain(route);
  });

  it('documents every route the app actually serves, /openapi.json and /docs included', () => {
    const stub = createApp({
      twins: {} as TwinService, credentials: {} as Credentials, metrics: createRegistry(), logger: silentLogger,
      maxBodyBytes: 1024, metricsAuth: false, isReady: () => true, store: {} as TwinStore, readTextFile: async () => undefined,
      connectors: {} as ConnectorService,
    });
    const served = [...new Set(stub.app.routes.filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`))].sort();
    expect(served.length).toBeGreaterThanOrEqual(CONTRACT_ROUTES.length);
    expect(documented().sort()).toEqual(served);
  });

  it('answers every documented operation from a real route (never the not-found fallback)', async () => {
    await createTwin(t, 'doc-1');
    for (const route of documented()) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace('/v1/keys/{id}', '/v1/keys/doesnotexist1').replace('{id}', 'doc-1');
      const abort = new AbortController();
      const res = await fetch(`${t.url}${url}`, {
        method: method.toUpperCase(), signal: abort.signal,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
      });
      if (res.headers.get('content-type')?.startsWith('text/event-stream')) { abort.abort(); continue; }
      const text = await res.text();
      if (res.status === 404) expect(JSON.parse(text).detail, route).not.toMatch(/^No route/);
    }
  });

  it('is valid against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('resolves every $ref within the document', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (typeof node !== 'object' || node === null) return;
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref') refs.push(v as string);
        else walk(v);
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of new Set(refs)) {
      expect(ref, ref).toMatch(/^#\//);
      expect(resolve(ref), ref).toBeDefined();
    }
  });

  it('gives the request schemas of create and patch, with the accepted content types', () => {
    const create = (doc.paths['/v1/twins']!.post!.requestBody as { required: boolean; content: Record<string, { schema: Json }> });
    expect(create.required).toBe(true);
    const createSchema = deref(create.content['application/json']!.schema);
    expect(createSchema.type).toBe('object');
    expect(Object.keys(createSchema.properties as Json).sort()).toEqual(['clientToken', 'desired', 'id', 'tags']);
    expect(createSchema.required).toEqual(['id']);
    expect(createSchema.additionalProperties).toBe(false);

    const patch = (doc.paths['/v1/twins/{id}']!.patch!.requestBody as { content: Record<string, { schema: Json }> });
    expect(Object.keys(patch.content).sort()).toEqual(['application/json', 'application/merge-patch+json']);
    const patchSchema = deref(patch.content['application/merge-patch+json']!.schema);
    expect(Object.keys(patchSchema.properties as Json).sort()).toEqual(['clientToken', 'desired', 'tags']);
    expect(patchSchema.additionalProperties).toBe(false);

    const reported = (doc.paths['/v1/twins/{id}/reported']!.patch!.requestBody as { content: Record<string, { schema: Json }> });
    expect(deref(reported.content['application/json']!.schema).type).toBe('object');
    const keys = (doc.paths['/v1/keys']!.post!.requestBody as { content: Record<string, { schema: Json }> });
    expect(Object.keys(deref(keys.content['application/json']!.schema).properties as Json).sort()).toEqual(['name', 'prefix', 'scopes']);
  });

  it('marks /v1 operations as needing a bearer credential and the operations endpoints as public', () => {
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(ids.has(op.operationId as string), `${method} ${path} operationId`).toBe(false);
        ids.add(op.operationId as string);
        expect(Object.keys(op.responses as Json).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(op.security).toEqual(path.startsWith('/v1/') ? [{ bearer: [] }] : []);
        if (path.startsWith('/v1/')) expect(Object.keys(op.responses as Json), `${method} ${path}`).toContain('401');
      }
    }
  });
});

describe('operations endpoints', () => {
  it('answer /healthz and /readyz with 200 and no credential', async () => {
    expect(await expectJson(await t.call('GET', '/healthz', { token: null }), 200)).toEqual({ status: 'ok' });
    expect(await expectJson(await t.call('GET', '/readyz', { token: null }), 200)).toEqual({ status: 'ready' });
  });

  it('count HTTP requests by method, route and status in /metrics', async () => {
    const sample = async (labels: string): Promise<number> => {
      const res = await t.call('GET', '/metrics', { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toContain('# TYPE doppel_http_requests_total counter');
      const line = text.split('\n').find((l) => l.startsWith(`doppel_http_requests_total{${labels}} `));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    await createTwin(t, 'metrics-1');
    const ok = 'method="GET",route="/v1/twins/:id",status="200"';
    const missing = 'method="GET",route="/v1/twins/:id",status="404"';
    const before = [await sample(ok), await sample(missing)];
    for (let i = 0; i < 3; i++) expect((await t.call('GET', '/v1/twins/metrics-1')).status).toBe(200);
    await expectProblem(await t.call('GET', '/v1/twins/metrics-2'), 404, 'not_found');
    expect([await sample(ok), await sample(missing)]).toEqual([before[0]! + 3, before[1]! + 1]);
    // Unknown paths share one label, so they cannot blow up the series count.
    await t.call('GET', '/no/such/path/12345');
    const text = await (await t.call('GET', '/metrics', { token: null })).text();
    expect(text).toMatch(/^doppel_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+$/m);
    expect(text).not.toContain('12345');
    expect(text).toContain('doppel_http_request_duration_seconds_bucket');
  });

  it('require a credential for /metrics only when configured with --metrics-auth', async () => {
    const guarded = await startTestServer(['--metrics-auth']);
    try {
      await expectProblem(await guarded.call('GET', '/metrics', { token: null }), 401, 'unauthorized');
      expect((await guarded.call('GET', '/metrics')).status).toBe(200);
      expect((await guarded.call('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});
