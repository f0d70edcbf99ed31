/**
 * The protocol reference pages, `/docs/reference/{page}`: docs/reference/*.md served as HTML by the
 * server itself, under the same strict Content-Security-Policy as `/docs`, with navigation between
 * them and back to the OpenAPI UI and the console, links between the files rewritten to served
 * pages, and headings with ids. One Chromium run follows a user from `/docs` to the WebSocket page.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { projectRoot } from '../../bench/server-command.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson, expectProblem } from './helpers.ts';

const PAGES = ['http', 'websocket', 'coap', 'errors', 'limits'];

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

async function page(path: string): Promise<{ res: Response; html: string; hrefs: string[] }> {
  const res = await t.call('GET', path, { token: null });
  const html = await res.text();
  const hrefs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
  return { res, html, hrefs };
}

const ids = (html: string) => new Set([...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!));

describe('GET /docs/reference/{page}', () => {
  it('renders every page as HTML under the strict CSP of /docs, with no inline script or style', async () => {
    const docsCsp = (await t.call('GET', '/docs', { token: null })).headers.get('content-security-policy');
    for (const name of PAGES) {
      const { res, html, hrefs } = await page(`/docs/reference/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy'), name).toBe(docsCsp);
      expect(docsCsp).toContain("default-src 'none'");
      expect(docsCsp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).not.toMatch(/<script|<style|\sstyle=/);
      // Rendered, not shown as markdown: the title is an h1 with an id, the tables are tables.
      const title = /^# (.+)$/m.exec(readFileSync(join(projectRoot, `docs/reference/${name}.md`), 'utf8'))![1]!;
      expect(html, name).toMatch(new RegExp(`<h1 id="[a-z0-9-]+">${title}</h1>`));
      expect(html, name).toContain('<table>');
      expect(html, name).not.toMatch(/^#+ /m);
      for (const url of hrefs) expect(url, `${name}: ${url}`).toMatch(/^(\/(?!\/)|#|data:)/);
    }
  });

  it('has navigation to every page (the current one marked), back to /docs and to /console', async () => {
    for (const name of PAGES) {
      const { html } = await page(`/docs/reference/${name}`);
      const nav = /<nav[^>]*>([\s\S]*?)<\/nav>/.exec(html)![1]!;
      const links = [...nav.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      expect(links, name).toEqual(expect.arrayContaining(['/docs', '/console', '/asyncapi.json', ...PAGES.map((p) => `/docs/reference/${p}`)]));
      expect([...nav.matchAll(/<a href="([^"]*)" aria-current="page">/g)].map((m) => m[1]), name).toEqual([`/docs/reference/${name}`]);
    }
  });

  it('turns the links between the markdown files into served pages, each of which answers (and its anchor exists)', async () => {
    // Every same-origin path linked from a page, fetched once: its status and body.
    const fetched = new Map<string, { status: number; body: string }>();
    const get = async (path: string) => {
      if (!fetched.has(path)) {
        const res = await t.call('GET', path, { token: null });
        fetched.set(path, { status: res.status, body: await res.text() });
      }
      return fetched.get(path)!;
    };
    let crossLinks = 0;
    for (const name of PAGES) {
      const source = readFileSync(join(projectRoot, `docs/reference/${name}.md`), 'utf8');
      const { body: html } = await get(`/docs/reference/${name}`);
      // Every link to another file of the reference is there as a link to its page.
      for (const [, file, anchor] of source.matchAll(/\]\(([a-z]+)\.md(#[^)]*)?\)/g)) {
        expect(html, `${name} → ${file}.md`).toContain(`href="/docs/reference/${file}${anchor ?? ''}"`);
        crossLinks++;
      }
      // A file the server does not serve (examples/) keeps its text but is no link.
      expect(html, name).not.toMatch(/href="[^"/#][^":]*"/);
      expect(html, name).not.toMatch(/href="[^"]*\.md[#"]/);
      for (const [, href] of html.matchAll(/<a href="(\/[^"]*)"/g)) {
        const [path, anchor] = href!.split('#') as [string, string?];
        const target = await get(path);
        expect(target.status, `${name} → ${href}`).toBe(200);
        if (anchor !== undefined) expect(ids(target.body), `${name} → ${href}`).toContain(anchor);
      }
    }
    expect(crossLinks).toBeGreaterThanOrEqual(8);
  });

  it('serves its stylesheet as a content-addressed docs asset, cached for good', async () => {
    const { hrefs } = await page('/docs/reference/coap');
    const css = hrefs.find((u) => u.endsWith('.css'))!;
    expect(css).toMatch(/^\/docs\/assets\/[0-9a-f]{16}\/reference\.css$/);
    const res = await t.call('GET', css, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${css.split('/')[3]}"`);
    expect(await res.text()).toContain('nav');
  });

  it('answers 404 problem+json for a page it does not have, and never reads outside docs/reference', async () => {
    for (const path of ['/docs/reference/nope', '/docs/reference/websocket.md', '/docs/reference/README', '/docs/reference/..%2F..%2Fpackage', '/docs/reference/__proto__', '/docs/reference/toString']) {
      const problem = await expectProblem(await t.call('GET', path, { token: null }), 404, 'not_found');
      expect(problem.detail, path).toContain('http, websocket, coap, errors, limits');
    }
  });

  it('is linked from the OpenAPI description, which Swagger UI shows at the top of /docs', async () => {
    const doc = await expectJson<{ info: { description: string } }>(await t.call('GET', '/openapi.json', { token: null }), 200);
    for (const name of PAGES) expect(doc.info.description, name).toContain(`](/docs/reference/${name})`);
  });

  it('is reached from /docs in Chromium and renders without console errors, never requesting another origin', async () => {
    const browser = await launchChromium();
    try {
      // Watched on the context: the link opens a second tab.
      const context = await browser.newContext();
      const problems: string[] = [];
      const foreign: string[] = [];
      context.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
      context.on('weberror', (e) => problems.push(`pageerror: ${e.error().message}`));
      context.on('request', (r) => { if (!r.url().startsWith(`${t.url}/`) && !r.url().startsWith('data:')) foreign.push(r.url()); });
      const docs = await context.newPage();
      await docs.goto(`${t.url}/docs`);
      // The links at the top of the OpenAPI description; Swagger UI opens them in a new tab.
      const link = docs.locator('.info a[href="/docs/reference/websocket"]');
      await link.waitFor({ timeout: 30_000 });
      const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await tab.waitForURL(`${t.url}/docs/reference/websocket`, { timeout: 30_000 });
      await tab.waitForLoadState('load');
      expect(tab.url()).toBe(`${t.url}/docs/reference/websocket`);
      expect(await tab.locator('main h1').innerText()).toBe('WebSocket API');
      expect(await tab.locator('main table').count()).toBeGreaterThan(0);
      // The stylesheet applied (allowed by the CSP): the reading column is bounded.
      expect(await tab.locator('main').evaluate((el) => getComputedStyle(el).maxWidth)).not.toBe('none');
      await tab.locator('nav a', { hasText: 'Errors' }).click();
      await tab.waitForURL(`${t.url}/docs/reference/errors`, { timeout: 30_000 });
      expect(await tab.locator('nav a[aria-current="page"]').innerText()).toBe('Errors');
      await tab.locator('nav a.home').click();
      await tab.waitForURL(`${t.url}/docs`, { timeout: 30_000 });
      expect(problems).toEqual([]);
      expect(foreign).toEqual([]);
      await context.close();
    } finally {
      await browser.close();
    }
  }, 90_000);
});
