/**
 * The OpenAPI 3.1 document, generated from the route specs and their zod schemas (never written by
 * hand), and `/docs`, a self-contained HTML reference rendered from it (no CDN, works offline).
 */
import { z } from 'zod';
import { ERROR_CODES } from '../../src/errors.ts';
import type { RouteSpec } from './route.ts';

type Json = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';

/** JSON Schema of `schema`, with named sub-schemas referenced from components. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  // Rewrite references before splitting out $defs, so the defs' own references are rewritten too.
  const rewritten = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', `"${COMPONENT}`)) as Json;
  const defs = (rewritten.$defs ?? {}) as Record<string, Json>;
  delete rewritten.$defs;
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
      description: 'Digital twins with desired and reported state. Errors are application/problem+json with a stable `code`: '
        + Object.entries(ERROR_CODES).map(([code, e]) => `\`${code}\` (${e.http})`).join(', ') + '.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Admin token, API key (dpk_…) or device token (dpd_…)' } },
    },
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A readable, dependency-free HTML rendering of the OpenAPI document. */
export function docsPage(doc: Json): string {
  const info = doc.info as { title: string; description: string };
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters as Json[]).map((p) => `<li><code>${escape(String(p.name))}</code> (${escape(String(p.in))}${p.required ? ', required' : ''})${p.description ? ` — ${escape(String(p.description))}` : ''}</li>`).join('');
      const responses = Object.entries(op.responses as Record<string, Json>).map(([s, r]) => `<li><b>${s}</b> ${escape(String(r.description))}</li>`).join('');
      const body = op.requestBody === undefined ? '' : `<details><summary>Request body</summary><pre>${escape(JSON.stringify(Object.values((op.requestBody as { content: Record<string, Json> }).content)[0]?.schema, null, 2))}</pre></details>`;
      sections.push(`<section id="${escape(String(op.operationId))}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p><b>${escape(String(op.summary))}</b>${op.description ? ` — ${escape(String(op.description))}` : ''}</p>${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body}<h4>Responses</h4><ul>${responses}</ul></section>`);
    }
  }
  const schemas = Object.entries((doc.components as { schemas: Json }).schemas)
    .map(([name, s]) => `<details id="schema-${escape(name)}"><summary><code>${escape(name)}</code></summary><pre>${escape(JSON.stringify(s, null, 2))}</pre></details>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.5rem;overflow:auto}section{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;color:#fff;border-radius:3px;padding:0 .3rem;text-align:center;font-size:13px}.get{background:#2a7}.post{background:#27c}.patch{background:#c82}.delete{background:#c33}</style></head>
<body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1)</p>${sections.join('\n')}<h2>Schemas</h2>${schemas}</body></html>`;
}
