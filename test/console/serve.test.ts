/**
 * How the server serves the console: HTML revalidated (no-cache, ETag, 304), hashed assets
 * immutable with their content types, a strict Content-Security-Policy on everything, unknown
 * assets a 404 problem.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { CONSOLE_DIR, ensureConsoleBuilt } from './support.ts';

let t: TestServer;
let manifest: { etag: string; assets: string[] };

beforeAll(async () => {
  await ensureConsoleBuilt();
  manifest = JSON.parse(await readFile(join(CONSOLE_DIR, 'manifest.json'), 'utf8'));
  t = await startTestServer();
}, 90_000);
afterAll(async () => { await t?.stop(); });

describe('GET /console', () => {
  it('serves the HTML with no-cache, an ETag and a strict CSP', async () => {
    const res = await fetch(`${t.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('etag')).toBe(`"${manifest.etag}"`);
    const csp = res.headers.get('content-security-policy')!;
    const host = new URL(t.url).host;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    for (const name of manifest.assets) expect(html).toContain(`/console/assets/${name}`);
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const res = await fetch(`${t.url}/console`, { headers: { 'if-none-match': `"${manifest.etag}"` } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe('');
  });

  it('serves hashed assets as immutable, with their content types', async () => {
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, svg: /^image\/svg\+xml/ };
    for (const name of manifest.assets) {
      const res = await fetch(`${t.url}/console/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toMatch(types[name.split('.').pop()!]!);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it('answers an unknown asset with a 404 problem', async () => {
    const res = await fetch(`${t.url}/console/assets/main-NOPE.js`);
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('not_found');
    expect((await fetch(`${t.url}/console/assets/..%2Fmanifest.json`)).status).toBe(404);
  });
});
