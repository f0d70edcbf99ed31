/**
 * The web console (`GET /console`): the Preact bundle built by `npm run build:console` into
 * `dist/console/`, served read-only. Hashed assets are immutable; the HTML is revalidated on every
 * load (ETag) so a new build is picked up at once. A strict Content-Security-Policy allows only this
 * origin: no inline script, no eval, no third-party hosts.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { DoppelError } from '../../../src/errors.ts';
import { buildOutputDir, readPackageFile } from '../../../src/runtime/files.ts';
import { register } from '../route.ts';
import type { Ctx, Env, RouteTable } from '../route.ts';

/** Written by console/build.mjs next to index.html: asset names are plain file names, never paths. */
const Manifest = z.object({ etag: z.string().regex(/^[0-9a-f]{8,64}$/), assets: z.array(z.string().regex(/^[\w-]+\.(js|css|svg)$/)) });
interface Asset { body: Uint8Array<ArrayBuffer>; type: string }
interface Bundle { html: Uint8Array<ArrayBuffer>; etag: string; assets: Map<string, Asset> }

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', map: 'application/json',
};
const NOT_BUILT = 'console not built: run npm run build';
// Host header characters only (RFC 3986 reg-name / IP literal / port), so it cannot break the header.
const SAFE_HOST = /^[A-Za-z0-9.\-:[\]]{1,255}$/;

export function consoleRoutes(app: Hono<Env>, table: RouteTable, opts: { dir?: string } = {}): void {
  const dir = opts.dir ?? `${buildOutputDir()}console`;
  let loaded: Promise<Bundle | undefined> | undefined;
  // A missing bundle is looked for again on the next request (a build may land while we run).
  const bundle = async () => {
    loaded ??= loadBundle(dir);
    const b = await loaded;
    if (b === undefined) loaded = undefined;
    return b;
  };

  const page = async (c: Ctx) => {
    const b = await bundle();
    if (b === undefined) throw new DoppelError('unavailable', NOT_BUILT);
    const headers = { ...securityHeaders(c.req.header('host')), 'cache-control': 'no-cache', etag: b.etag };
    if (c.req.header('if-none-match') === b.etag) return c.body(null, 304, headers);
    return c.body(b.html, 200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
  };
  register(app, table, {
    method: 'get', path: '/console', tag: 'Console', auth: 'none', summary: 'The web console',
    description: 'A single-page app over the public HTTP and WebSocket APIs; sign in with a token.',
    responses: { 200: { description: 'HTML', contentType: 'text/html' }, 503: { description: NOT_BUILT } },
  }, page);
  register(app, table, {
    method: 'get', path: '/console/assets/:name', tag: 'Console', auth: 'none', summary: 'A web console asset (content-hashed name)',
    responses: { 200: { description: 'Script, style sheet or image' }, 404: { description: 'No such asset' } },
  }, async (c) => {
    const b = await bundle();
    if (b === undefined) throw new DoppelError('unavailable', NOT_BUILT);
    const asset = b.assets.get(c.req.param('name') ?? '');
    if (asset === undefined) throw new DoppelError('not_found', `No console asset ${c.req.path}`);
    return c.body(asset.body, 200, {
      ...securityHeaders(c.req.header('host')), 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable',
    });
  });
}

async function loadBundle(dir: string): Promise<Bundle | undefined> {
  const [manifestBytes, html] = await Promise.all([readPackageFile(`${dir}/manifest.json`), readPackageFile(`${dir}/index.html`)]);
  if (manifestBytes === undefined || html === undefined) return undefined;
  const manifest = Manifest.parse(JSON.parse(new TextDecoder().decode(manifestBytes)));
  const assets = new Map<string, Asset>();
  for (const name of manifest.assets) {
    const body = await readPackageFile(`${dir}/assets/${name}`);
    if (body === undefined) return undefined;
    assets.set(name, { body, type: TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream' });
  }
  return { html, etag: `"${manifest.etag}"`, assets };
}

function securityHeaders(host: string | undefined): Record<string, string> {
  // 'self' covers ws:/wss: of the same origin in CSP Level 3; named explicitly for older browsers.
  const sockets = host !== undefined && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `connect-src 'self'${sockets}`,
      "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}
