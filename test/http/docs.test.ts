/**
 * The reference pages: `/docs` is Swagger UI served by this server (no CDN) under a strict
 * Content-Security-Policy, its files content-addressed and cached for good; `/asyncapi.json`
 * describes the WebSocket API with the same schemas that parse its frames. One Chromium run
 * proves the page renders without console errors and never leaves the origin.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { OPS } from '../../protocols/ws/messages.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson, expectProblem } from './helpers.ts';
import type { Json } from './helpers.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

async function docsPage(): Promise<{ res: Response; html: string; assets: string[] }> {
  const res = await t.call('GET', '/docs', { token: null });
  const html = await res.text();
  const assets = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  return { res, html, assets };
}

/** Every `$ref` in `doc`, each checked to resolve to a node of `doc` (JSON pointer, RFC 6901). */
function expectRefsResolve(doc: Json): number {
  const refs = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) if (k === '$ref') refs.add(v as string); else walk(v);
    }
  };
  walk(doc);
  for (const ref of refs) {
    expect(ref, ref).toMatch(/^#\//);
    let node: unknown = doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      expect(typeof node === 'object' && node !== null && Object.hasOwn(node, key), `${ref}: ${key}`).toBe(true);
      node = (node as Json)[key];
    }
  }
  return refs.size;
}

describe('GET /docs', () => {
  it('is an HTML page under a strict CSP, with only same-origin files and no inline script or style', async () => {
    const { res, html, assets } = await docsPage();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const url of assets) expect(url, url).toMatch(/^(\/(?!\/)|data:)/);
  });

  it('serves its files with their content types, an ETag and immutable caching; 304 on If-None-Match', async () => {
    const { assets } = await docsPage();
    const files = assets.filter((u) => u.startsWith('/docs/assets/'));
    expect(files.map((u) => u.split('/').at(-1)).sort()).toEqual(['init.js', 'swagger-ui-bundle.js', 'swagger-ui.css']);
    for (const url of files) {
      const res = await t.call('GET', url, { token: null });
      const body = await res.text();
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toBe(url.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const etag = res.headers.get('etag')!;
      expect(etag, url).toBe(`"${url.split('/')[3]}"`);
      expect(body.length, url).toBeGreaterThan(100);
      const again = await t.call('GET', url, { token: null, headers: { 'if-none-match': etag } });
      expect(again.status, url).toBe(304);
      expect(await again.text()).toBe('');
    }
    const init = await (await t.call('GET', files.find((u) => u.endsWith('init.js'))!, { token: null })).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
  });

  it('answers 404 for a file it does not serve or an outdated hash', async () => {
    const { assets } = await docsPage();
    const bundle = assets.find((u) => u.endsWith('swagger-ui-bundle.js'))!;
    await expectProblem(await t.call('GET', bundle.replace(/\/assets\/[0-9a-f]+\//, '/assets/0000000000000000/'), { token: null }), 404, 'not_found');
    await expectProblem(await t.call('GET', bundle.replace('swagger-ui-bundle.js', 'package.json'), { token: null }), 404, 'not_found');
    await expectProblem(await t.call('GET', bundle.replace('swagger-ui-bundle.js', '..%2Fpackage.json'), { token: null }), 404, 'not_found');
  });

  it('renders in Chromium without console errors, never requesting another origin', async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const problems: string[] = [];
      const foreign: string[] = [];
      tab.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
      tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      tab.on('request', (r) => { if (!r.url().startsWith(`${t.url}/`) && !r.url().startsWith('data:')) foreign.push(r.url()); });
      await tab.goto(`${t.url}/docs`);
      // Rendered from /openapi.json: the title, an operation of each tag, and a resolved schema.
      await tab.locator('.info .title', { hasText: 'Doppel twin API' }).waitFor({ timeout: 30_000 });
      await tab.locator('.opblock-summary-path', { hasText: '/v1/twins/{id}/reported' }).first().waitFor({ timeout: 30_000 });
      // Markdown rendered, not shown: the error table's codes are <code> cells, no backtick is left.
      expect(await tab.locator('.info .renderedMarkdown table td code', { hasText: 'method_not_allowed' }).count()).toBe(1);
      expect(await tab.locator('.info').innerText()).not.toContain('`');
      await tab.locator('.opblock-summary-path', { hasText: '/v1/twins/{id}/reported' }).first().click();
      await tab.locator('.opblock-body .model-box, .opblock-body .microlight, .opblock-body pre').first().waitFor({ timeout: 30_000 });
      const text = await tab.locator('#swagger-ui').innerText();
      expect(text).not.toContain('$ref');
      expect(text).not.toContain('Could not resolve');
      expect(problems).toEqual([]);
      expect(foreign).toEqual([]);
      await tab.close();
    } finally {
      await browser.close();
    }
  }, 90_000);
});

describe('GET /asyncapi.json', () => {
  it('describes /v1/ws in AsyncAPI 3.0 with every client op, the server messages, and no dangling $ref', async () => {
    const doc = await expectJson<Json & { channels: { ws: { address: string; messages: Json } }; components: { messages: Record<string, { payload: Json }> } }>(
      await t.call('GET', '/asyncapi.json', { token: null }), 200);
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels.ws.address).toBe('/v1/ws');
    for (const op of OPS) {
      const payload = doc.components.messages[`client.${op}`]!.payload as { properties: Record<string, { const?: string }>; additionalProperties: boolean };
      expect(payload.properties.op!.const, op).toBe(op);
      expect(payload.additionalProperties, op).toBe(false);
    }
    for (const op of ['subscribed', 'unsubscribed', 'twin', 'ok', 'snapshot', 'change', 'deleted', 'delta', 'error']) {
      expect(Object.keys(doc.channels.ws.messages), op).toContain(`server.${op}`);
    }
    expect(expectRefsResolve(doc)).toBeGreaterThan(20);
  });

  it('is valid against the AsyncAPI 3.0.0 schema', async () => {
    const doc = await expectJson(await t.call('GET', '/asyncapi.json', { token: null }), 200);
    const schemaFile = fileURLToPath(import.meta.resolve('@asyncapi/specs/schemas/3.0.0-without-$id.json'));
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(JSON.parse(await readFile(schemaFile, 'utf8')) as object);
    const valid = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)?.slice(0, 2000)).toEqual([]);
    expect(valid).toBe(true);
  });
});

describe('GET /openapi.json', () => {
  it('has no dangling $ref and describes its errors as a markdown table', async () => {
    const doc = await expectJson<Json & { info: { description: string } }>(await t.call('GET', '/openapi.json', { token: null }), 200);
    expect(expectRefsResolve(doc)).toBeGreaterThan(5);
    expect(doc.info.description).toContain('| `method_not_allowed` | 405 |');
    expect(doc.info.description).toContain('[/asyncapi.json](/asyncapi.json)');
  });
});
