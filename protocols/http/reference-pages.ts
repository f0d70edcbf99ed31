/**
 * `/docs/reference/{page}`: the protocol reference (docs/reference/*.md: HTTP, WebSocket, CoAP,
 * errors, limits) as HTML pages, so the WebSocket messages and CoAP resources are one click from
 * the OpenAPI UI at `/docs`, offline. Each page is rendered once per process, in a small shell
 * with navigation, under the same strict Content-Security-Policy as `/docs` (its stylesheet is
 * a served file, never inline).
 */
import type { Hono } from 'hono';
import { fail } from '../../src/errors.ts';
import { REFERENCE_PAGES, REFERENCE_PATH, isReferencePage, renderReference } from './reference-markdown.ts';
import type { ReferencePage } from './reference-markdown.ts';
import { DOCS_CSP } from './reference.ts';
import type { ReadTextFile } from './reference.ts';
import { register } from './route.ts';
import type { Env, RouteTable } from './route.ts';

export interface ReferencePagesDeps {
  read: ReadTextFile;
  /** The served path of the pages' stylesheet (content-addressed). */
  stylesheet: () => Promise<string>;
}

/**
 * The package's docs/reference/: this file runs from protocols/http/ (Deno, vitest) or from
 * dist/protocols/http/ (Node), so two levels up is the package root or dist/ inside it.
 */
function referenceDir(): URL {
  const up = new URL('../../', import.meta.url);
  return new URL('docs/reference/', up.pathname.endsWith('/dist/') ? new URL('../', up) : up);
}

function navigation(current: ReferencePage): string {
  const pages = Object.entries(REFERENCE_PAGES).map(([name, title]) =>
    `<a href="${REFERENCE_PATH}/${name}"${name === current ? ' aria-current="page"' : ''}>${title}</a>`);
  return `<nav aria-label="Reference">
<a class="home" href="/docs">API reference (OpenAPI)</a>
${pages.join('\n')}
<span class="aside"><a href="/asyncapi.json">AsyncAPI</a> <a href="/console">Web console</a></span>
</nav>`;
}

function shell(page: ReferencePage, body: string, stylesheet: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${REFERENCE_PAGES[page]} · Doppel reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${stylesheet}">
</head>
<body>
<header>
${navigation(page)}
</header>
<main>
${body}</main>
</body>
</html>
`;
}

async function buildPage(page: ReferencePage, deps: ReferencePagesDeps): Promise<string> {
  const file = new URL(`${page}.md`, referenceDir());
  const text = await deps.read(decodeURIComponent(file.pathname));
  if (text === undefined) throw new Error(`docs/reference/${page}.md is missing from the package (${file.pathname})`);
  return shell(page, renderReference(text), await deps.stylesheet());
}

/** Mounts `GET /docs/reference/:page`. */
export function referencePageRoutes(app: Hono<Env>, table: RouteTable, deps: ReferencePagesDeps): void {
  const built = new Map<ReferencePage, Promise<string>>();
  const html = (page: ReferencePage): Promise<string> => {
    let pending = built.get(page);
    if (pending === undefined) {
      // A failed read is retried on the next request rather than remembered.
      pending = buildPage(page, deps).catch((err: unknown) => { built.delete(page); throw err; });
      built.set(page, pending);
    }
    return pending;
  };

  const names = Object.keys(REFERENCE_PAGES).join(', ');
  register(app, table, {
    method: 'get', path: `${REFERENCE_PATH}/:page`, tag: 'Documentation', auth: 'none',
    summary: `A protocol reference page as HTML (${names})`,
    description: 'The WebSocket messages, CoAP resources, error codes and limits, with examples; linked from the top of this document.',
    responses: { 200: { description: 'HTML', contentType: 'text/html' }, 404: { description: 'not_found: no such page' } },
  }, async (c) => {
    const page = c.req.param('page') ?? '';
    if (!isReferencePage(page)) throw fail('not_found', `No reference page ${JSON.stringify(page)}: the pages are ${names}`);
    // no-cache, like /docs: the page names the stylesheet's current hash.
    return c.body(await html(page), 200, {
      'content-type': 'text/html; charset=utf-8', 'content-security-policy': DOCS_CSP, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff',
    });
  });
}
