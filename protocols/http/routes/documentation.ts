/**
 * The self-description: `/openapi.json` (generated from every route registered before it is first
 * asked for), `/asyncapi.json` (the WebSocket API), `/docs` (the reference UI),
 * `/docs/reference/{page}` (the protocol reference pages) and `/`, which sends a browser to `home`.
 */
import type { Hono } from 'hono';
import { asyncapiDocument } from '../asyncapi.ts';
import { openapiDocument } from '../openapi.ts';
import { referencePageRoutes } from '../reference-pages.ts';
import { referenceRoutes } from '../reference.ts';
import type { ReadTextFile } from '../reference.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';

export interface DocumentationDeps { readTextFile: ReadTextFile; home: string }

export function documentationRoutes(app: Hono<Env>, table: RouteTable, deps: DocumentationDeps): void {
  // Built on the first request, when every route (these included) is in the table.
  let openapi: string | null = null;
  register(app, table, {
    method: 'get', path: '/openapi.json', tag: 'Documentation', auth: 'none', summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } },
  }, (c) => c.body(openapi ??= JSON.stringify(openapiDocument(table.specs)), 200, { 'content-type': 'application/json' }));

  let asyncapi: string | null = null;
  register(app, table, {
    method: 'get', path: '/asyncapi.json', tag: 'Documentation', auth: 'none', summary: 'The WebSocket API (/v1/ws) as an AsyncAPI 3.0 document',
    responses: { 200: { description: 'AsyncAPI 3.0', contentType: 'application/json' } },
  }, (c) => c.body(asyncapi ??= JSON.stringify(asyncapiDocument()), 200, { 'content-type': 'application/json' }));

  const docs = referenceRoutes(app, table, deps.readTextFile);
  referencePageRoutes(app, table, { read: deps.readTextFile, stylesheet: () => docs.path('reference.css') });

  // 302, not 301: a browser caches a permanent redirect for good, and the target may move (a web
  // console). For GET and HEAD, 302 and 307 behave the same, and 302 is what every client knows.
  register(app, table, {
    method: 'get', path: '/', tag: 'Documentation', auth: 'none', summary: `Redirects to ${deps.home}`,
    responses: { 302: { description: 'Found', headers: { location: deps.home } } },
  }, (c) => c.redirect(deps.home, 302));
}
