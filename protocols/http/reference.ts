/**
 * `/docs`: the API reference UI, Swagger UI from the `swagger-ui-dist` package, served by this
 * server from node_modules (no CDN: it works offline and behind a firewall). Why Swagger UI: its
 * dist bundle is one script and one stylesheet (~2 MB, no runtime fetches once the validator badge
 * is off), it runs under a strict Content-Security-Policy (no inline script, no inline style
 * element, no eval), renders OpenAPI 3.1 with markdown descriptions, and is maintained by the
 * OpenAPI tooling people. The page itself is static HTML; the init is a served script, never
 * inline. Assets live under a content-hash path, so they are cached for good (`immutable`) and a
 * new version is a new URL.
 */
import type { Hono } from 'hono';
import { fail } from '../../src/errors.ts';
import { REFERENCE_CSS } from './reference-style.ts';
import { register } from './route.ts';
import type { Env, RouteTable } from './route.ts';

/** Reads a text file (the runtime adapter's), undefined when it does not exist. */
export type ReadTextFile = (path: string) => Promise<string | undefined>;

const UI_PACKAGE = 'swagger-ui-dist';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The package's files the page needs, by the name they are served under. */
const PACKAGE_FILES: Readonly<Record<string, string>> = { 'swagger-ui.css': CSS, 'swagger-ui-bundle.js': JS };

/**
 * Starts the UI on our document. `validatorUrl: null` keeps the page from calling
 * validator.swagger.io; BaseLayout has no top bar that would let a visitor load a foreign URL.
 */
const INIT_JS = `'use strict';
// Served as a file, not inline, so the page's Content-Security-Policy can forbid inline script.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  layout: 'BaseLayout',
  presets: [SwaggerUIBundle.presets.apis],
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});
`;

/**
 * Only this origin, only files (no inline script or style, no eval); `data:` images are the
 * icons inside Swagger UI's stylesheet. `connect-src 'self'` lets "Try it out" call this API.
 */
export const DOCS_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

interface Asset { body: string; type: string; hash: string }

const utf8 = new TextEncoder();

async function contentHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(text)));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads the UI's files once (about 2 MB kept in memory while the server runs). */
async function loadAssets(read: ReadTextFile): Promise<Map<string, Asset>> {
  const dir = new URL('.', import.meta.resolve(`${UI_PACKAGE}/package.json`));
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(PACKAGE_FILES)) {
    const body = await read(decodeURIComponent(new URL(name, dir).pathname));
    if (body === undefined) throw new Error(`${UI_PACKAGE}/${name} is missing: reinstall the production dependencies`);
    assets.set(name, { body, type, hash: await contentHash(body) });
  }
  assets.set('init.js', { body: INIT_JS, type: JS, hash: await contentHash(INIT_JS) });
  // The protocol reference pages' (reference-pages.ts), cached like the rest.
  assets.set('reference.css', { body: REFERENCE_CSS, type: CSS, hash: await contentHash(REFERENCE_CSS) });
  return assets;
}

const assetPath = (assets: Map<string, Asset>, name: string) => `/docs/assets/${assets.get(name)!.hash}/${name}`;

function page(assets: Map<string, Asset>): string {
  const href = (name: string) => assetPath(assets, name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Doppel API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${href('swagger-ui.css')}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${href('swagger-ui-bundle.js')}"></script>
<script src="${href('init.js')}"></script>
</body>
</html>
`;
}

/** What the other documentation pages need of this one: the served path of an asset. */
export interface DocsAssets { path(name: 'reference.css'): Promise<string> }

/** Mounts `GET /docs` and its assets. */
export function referenceRoutes(app: Hono<Env>, table: RouteTable, read: ReadTextFile): DocsAssets {
  let loading: Promise<Map<string, Asset>> | null = null;
  // A failed read is retried on the next request rather than remembered.
  const assets = () => (loading ??= loadAssets(read).catch((err: unknown) => { loading = null; throw err; }));
  let html: string | null = null;

  register(app, table, {
    method: 'get', path: '/docs', tag: 'Documentation', auth: 'none', summary: 'API reference (Swagger UI on /openapi.json)',
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  }, async (c) => {
    html ??= page(await assets());
    // no-cache: the page names the current asset hashes, so it is revalidated every time.
    return c.body(html, 200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DOCS_CSP, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  });

  register(app, table, {
    method: 'get', path: '/docs/assets/:hash/:file', tag: 'Documentation', auth: 'none', summary: 'A file of the reference UI (content-addressed, cached for good)',
    responses: { 200: { description: 'The file', headers: { etag: 'The content hash' } }, 304: { description: 'Not modified' }, 404: { description: 'not_found' } },
  }, async (c) => {
    const asset = (await assets()).get(c.req.param('file') ?? '');
    if (asset === undefined || asset.hash !== c.req.param('hash')) throw fail('not_found', `No file ${c.req.path}`);
    const headers = {
      etag: `"${asset.hash}"`, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff',
    };
    // RFC 9110 §13.1.2: a matching If-None-Match is answered 304 without the body.
    if (c.req.header('if-none-match')?.split(',').some((tag) => tag.trim() === headers.etag)) return c.body(null, 304, headers);
    return c.body(asset.body, 200, { ...headers, 'content-type': asset.type });
  });

  return { path: async (name) => assetPath(await assets(), name) };
}
