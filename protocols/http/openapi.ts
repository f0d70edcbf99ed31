/**
 * The OpenAPI 3.1 document, generated from the route specs and their zod schemas (never written by
 * hand); `reference.ts` serves the UI that renders it at `/docs`.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../../src/errors.ts';
import { REFERENCE_PAGES, REFERENCE_PATH } from './reference-markdown.ts';
import type { RouteSpec } from './route.ts';

type Json = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

/**
 * JSON Schema of `schema`, with named sub-schemas referenced from `#/components/schemas/` (the
 * same place in OpenAPI and AsyncAPI documents, whose schema dialect is draft-07).
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json, target: 'draft-2020-12' | 'draft-7' = 'draft-2020-12'): Json {
  const generated = z.toJSONSchema(schema, { target, io, unrepresentable: 'any' });
  // Rewrite references before splitting out $defs, so the defs' own references are rewritten too.
  // draft-07 names the local definitions `definitions`, 2020-12 `$defs`.
  const rewritten = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', `"${COMPONENT}`).replaceAll('"#/definitions/', `"${COMPONENT}`)) as Json;
  const defs = (rewritten.$defs ?? rewritten.definitions ?? {}) as Record<string, Json>;
  delete rewritten.$defs;
  delete rewritten.definitions;
  delete rewritten.$schema;
  for (const [name, def] of Object.entries(defs)) components[name] ??= def;
  // A schema that is itself named goes to components and is referenced.
  const id = z.globalRegistry.get(schema)?.id;
  if (typeof id === 'string') {
    delete rewritten.id;
    components[id] ??= rewritten;
    return { $ref: `${COMPONENT}${id}` };
  }
  return rewritten;
}

/** Markdown (CommonMark), rendered by the reference UI at /docs. */
const DESCRIPTION = [
  'Digital twins with desired and reported state, for integrators. Every `/v1` operation needs a bearer credential.',
  '',
  `**Protocol reference** (served here, with examples): ${Object.entries(REFERENCE_PAGES).map(([page, title]) => `[${title}](${REFERENCE_PATH}/${page})`).join(' · ')}.`,
  '',
  '**Other interfaces** of the same server: apps follow twins live over the WebSocket API at `/v1/ws`, described by the',
  'AsyncAPI 3.0 document [/asyncapi.json](/asyncapi.json); devices speak CoAP (RFC 7252) on the CoAP port. Both are',
  'explained, with examples, in the protocol reference above.',
  '',
  '**CoAP resources** (device token in `?token=`; JSON, Content-Format 50, or CBOR, 60, chosen by `Accept`):',
  '',
  '| request | answer |',
  '|---|---|',
  '| `GET /t/{id}` | the device view `{version, desired, reported, delta}` |',
  '| `GET /t/{id}/desired`, `GET /t/{id}/delta` | that part; with `Observe: 0`, a notification on every change (RFC 7641) |',
  '| `PUT` or `POST /t/{id}/reported` | merge patch of reported (RFC 7396), `If-Match` a version → `2.04 {version, delta}` |',
  '| `GET /.well-known/core` | the resources as RFC 6690 links |',
  '',
  'A CoAP error carries the response code of the table below and the diagnostic payload `<code>: <Message>`.',
  '',
  '**Errors** are `application/problem+json` (RFC 9457) with a stable `code` to branch on:',
  '',
  '| code | HTTP | CoAP | meaning |',
  '|---|---|---|---|',
  ...Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.http} | ${e.coap} | ${e.doc} |`),
].join('\n');

export function openapiDocument(specs: readonly RouteSpec[]): Json {
  const components: Json = {};
  const paths: Record<string, Json> = {};
  for (const spec of specs) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const m of spec.path.matchAll(/:(\w+)/g)) {
      parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    if (spec.query !== undefined) {
      for (const [name, field] of Object.entries(spec.query.shape as Record<string, z.ZodType>)) {
        const schema = jsonSchema(field, 'input', components);
        const description = (schema.description as string | undefined) ?? z.globalRegistry.get(field)?.description;
        parameters.push({ name, in: 'query', required: !field.safeParse(undefined).success, schema, ...(description ? { description } : {}) });
      }
    }
    for (const [name, description] of Object.entries(spec.headers ?? {})) {
      parameters.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
    }
    const responses: Json = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      const entry: Json = { description: r.description };
      if (r.schema !== undefined) entry.content = { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output', components) } };
      else if (r.contentType !== undefined) entry.content = { [r.contentType]: { schema: { type: 'string' } } };
      if (r.headers !== undefined) entry.headers = Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]));
      responses[status] = entry;
    }
    const op: Json = {
      operationId: `${spec.method}${spec.path.replace(/[/:{}]+(\w)?/g, (_, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
      summary: spec.summary,
      tags: [spec.tag],
      parameters,
      responses,
      security: spec.auth === 'bearer' ? [{ bearer: [] }] : [],
    };
    if (spec.description !== undefined) op.description = spec.description;
    if (spec.body !== undefined) {
      const schema = jsonSchema(spec.body, 'input', components);
      op.requestBody = { required: true, content: Object.fromEntries((spec.bodyTypes ?? ['application/json']).map((t) => [t, { schema }])) };
    }
    (paths[path] ??= {})[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Doppel twin API',
      version: '1',
      description: DESCRIPTION,
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Admin token, API key (dpk_…) or device token (dpd_…)' } },
    },
  };
}
