/**
 * The web console in the real Debian Chromium against the real server: sign in, the fleet with its
 * filter (and a syntax error shown at its position), live updates from a device report, the twin
 * view (save desired, the conflict path, history, device token) and API keys. One browser, one
 * page walked through in order; at the end, no request left the server's origin and the page
 * logged nothing but the HTTP errors the steps provoked on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { ensureConsoleBuilt, launchChromium, signIn, watchedPage, json } from './support.ts';
import type { WatchedPage } from './support.ts';

const WAIT = { timeout: 15_000 };
let t: TestServer;
let browser: Browser;
let w: WatchedPage;
let page: Page;
let device: string;

beforeAll(async () => {
  await ensureConsoleBuilt();
  [t, browser] = await Promise.all([startTestServer(), launchChromium()]);
  for (const [id, temp] of [['thermo-1', 21], ['thermo-2', 19], ['valve-1', 5]] as const) {
    await json(await t.call('POST', '/v1/twins', { body: { id, desired: { temp }, tags: { site: id.startsWith('thermo') ? 'berlin' : 'paris' } } }), 201);
  }
  device = (await json<{ token: string }>(await t.call('POST', '/v1/twins/thermo-1/token'), 201)).token;
  // thermo-2 is in sync; thermo-1 and valve-1 wait for their devices.
  const d2 = (await json<{ token: string }>(await t.call('POST', '/v1/twins/thermo-2/token'), 201)).token;
  await json(await t.call('PATCH', '/v1/twins/thermo-2/reported', { body: { temp: 19 }, token: d2 }), 200);
  w = await watchedPage(browser);
  page = w.page;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('the web console', () => {
  it('refuses a wrong token with a clear message, then signs in', async () => {
    await signIn(page, t.url, 'not-a-token');
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor(WAIT);
    // A newcomer is told where the admin token is.
    expect(await page.locator('#token-help').textContent()).toContain('kept in its data directory as admin-token');
    expect(await page.evaluate(() => location.href)).not.toContain('token');
    await page.getByLabel('Token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'thermo-1', exact: true }).waitFor(WAIT);
    await page.locator('.counts', { hasText: '3 twins followed live' }).waitFor(WAIT);
    expect(await page.locator('.counts').textContent()).toContain('2 out of sync');
    expect(await page.evaluate(() => [Object.keys(localStorage).length, location.href])).toEqual([0, `${t.url}/console`]);
  });

  it('filters with the filter language and shows a syntax error at its position', async () => {
    const filter = page.getByLabel('Filter');
    await filter.fill('tags.site == "berlin" and sync.inSync == false');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('tbody tr').first().waitFor(WAIT);
    await expectRows(page, ['thermo-1']);
    await filter.fill('reported.temp >');
    await page.getByRole('button', { name: 'Apply' }).click();
    const error = page.locator('#filter-error');
    await error.waitFor(WAIT);
    expect(await error.textContent()).toContain('Cannot parse filter at 16');
    expect(await error.locator('pre').textContent()).toBe(`reported.temp >\n${' '.repeat(15)}^`);
    expect(await filter.getAttribute('aria-invalid')).toBe('true');
    await filter.fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await error.waitFor({ state: 'detached', ...WAIT });
    await expectRows(page, ['thermo-1', 'thermo-2', 'valve-1']);
  });

  it('shows a device report live, without a reload', async () => {
    const row = page.locator('tr[data-twin="thermo-1"]');
    expect(await row.textContent()).toContain('pending');
    await json(await t.call('PATCH', '/v1/twins/thermo-1/reported', { body: { temp: 21, battery: 80 }, token: device }), 200);
    await row.locator('text=in sync').waitFor(WAIT);
    expect(await row.textContent()).toContain('online');
    expect(await row.locator('td.num').textContent()).toBe('2');
    await page.locator('.counts', { hasText: '1 out of sync' }).waitFor(WAIT);
    // A twin created meanwhile joins the page in its id order.
    await json(await t.call('POST', '/v1/twins', { body: { id: 'thermo-15', desired: { temp: 18 } } }), 201);
    await expectRows(page, ['thermo-1', 'thermo-15', 'thermo-2', 'valve-1']);
    await page.locator('.counts', { hasText: '4 twins followed live' }).waitFor(WAIT);
  });

  it('opens a twin and saves desired as a conditional write', async () => {
    await page.getByRole('link', { name: 'thermo-1', exact: true }).click();
    await page.getByRole('heading', { name: 'thermo-1' }).waitFor(WAIT);
    expect(await page.locator('.tags').textContent()).toContain('berlin');
    const editor = page.getByRole('textbox', { name: 'Desired', exact: true });
    expect(JSON.parse(await editor.inputValue())).toEqual({ temp: 21 });
    await editor.fill('{"temp": 23, "mode": "eco"}');
    await page.getByRole('button', { name: 'Save desired' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved: version 3' }).waitFor(WAIT);
    const twin = await json<{ desired: unknown; version: number }>(await t.call('GET', '/v1/twins/thermo-1'), 200);
    expect(twin).toMatchObject({ version: 3, desired: { temp: 23, mode: 'eco' } });
    // The delta now marks temp and mode out of sync in the desired tree.
    await page.locator('.docs .leaf.pending', { hasText: 'mode' }).first().waitFor(WAIT);
  });

  it('explains a conflict, keeps the edit, and saves it over the latest when asked', async () => {
    const editor = page.getByRole('textbox', { name: 'Desired', exact: true });
    await editor.fill('{"temp": 24, "mode": "eco"}');
    await json(await t.call('PATCH', '/v1/twins/thermo-1', { body: { desired: { fan: 'auto' } } }), 200); // someone else, version 4
    await page.getByRole('button', { name: 'Save desired' }).click();
    const conflict = page.locator('.conflict');
    await conflict.waitFor(WAIT);
    expect(await conflict.textContent()).toContain('changed to version 4 while you were editing version 3');
    expect(await editor.inputValue()).toBe('{"temp": 24, "mode": "eco"}');
    expect((await json<{ desired: unknown }>(await t.call('GET', '/v1/twins/thermo-1'), 200)).desired).toEqual({ temp: 23, mode: 'eco', fan: 'auto' });
    await page.getByRole('button', { name: /Keep my edit/ }).click();
    await page.getByRole('button', { name: 'Save desired' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved: version 5' }).waitFor(WAIT);
    expect((await json<{ desired: unknown }>(await t.call('GET', '/v1/twins/thermo-1'), 200)).desired).toEqual({ temp: 24, mode: 'eco' });
  });

  it('shows history with each patch and via, and charts a numeric reported leaf', async () => {
    const timeline = page.locator('.timeline li');
    await page.locator('.timeline li', { hasText: 'v5' }).waitFor(WAIT);
    expect(await timeline.first().textContent()).toContain('v5');
    expect(await timeline.allTextContents()).toHaveLength(5);
    expect(await page.locator('.timeline li', { hasText: 'v2' }).textContent()).toContain('"reported":{"temp":21,"battery":80}');
    expect(await page.locator('.timeline li', { hasText: 'v2' }).locator('.badge').textContent()).toBe('http');
    await page.getByLabel('Chart leaf').selectOption('battery');
    expect(await page.locator('.chart svg').getAttribute('aria-label')).toContain('reported.battery: 1 values from 80 to 80');
  });

  it('issues a device token, shown once, that works', async () => {
    await page.getByRole('button', { name: 'Issue device token…' }).click();
    await page.getByRole('button', { name: 'Yes, issue a new device token' }).click();
    const field = page.getByRole('textbox', { name: /^Device token/ });
    await field.waitFor(WAIT);
    const token = await field.inputValue();
    expect(token).toMatch(/^dpd_/);
    await json(await t.call('GET', '/v1/twins/thermo-1', { token }), 200);
    expect((await t.call('GET', '/v1/twins/thermo-1', { token: device })).status).toBe(401); // rotated
  });

  it('creates an API key with scopes and a prefix, shown once, and lists it', async () => {
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor(WAIT);
    await page.getByLabel('Name').fill('dashboard');
    await page.getByLabel('Prefix').fill('thermo-');
    await page.getByLabel('twins:write').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const field = page.getByRole('textbox', { name: /^API key token/ });
    await field.waitFor(WAIT);
    const token = await field.inputValue();
    expect(token).toMatch(/^dpk_/);
    const listed = await json<{ items: { id: string }[] }>(await t.call('GET', '/v1/twins', { token }), 200);
    expect(listed.items.map((i) => i.id)).toEqual(['thermo-1', 'thermo-15', 'thermo-2']);
    await page.locator('tbody tr', { hasText: 'dashboard' }).waitFor(WAIT);
    expect(await page.locator('tbody tr', { hasText: 'dashboard' }).textContent()).toContain('twins:read, twins:write');
    await page.locator('.facts', { hasText: 'Readiness' }).locator('dd.ok', { hasText: 'ready' }).waitFor(WAIT);
    // GET /v1/cluster answers 404 outside cluster mode.
    await page.getByTestId('cluster-mode').filter({ hasText: 'Single node: this server is not part of a cluster' }).waitFor(WAIT);
    expect(await page.getByRole('table', { name: 'Cluster nodes' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke dashboard' }).click();
    await page.getByRole('button', { name: /^Revoke now/ }).click();
    await page.locator('tbody tr', { hasText: 'dashboard' }).waitFor({ state: 'detached', ...WAIT });
    expect((await t.call('GET', '/v1/twins', { token })).status).toBe(401);
  });

  it('says which scope a token lacks', async () => {
    const key = await json<{ token: string }>(await t.call('POST', '/v1/keys', { body: { scopes: ['keys:admin'] } }), 201);
    const other = await watchedPage(browser);
    await signIn(other.page, t.url, key.token);
    await other.page.getByRole('alert').filter({ hasText: 'This token lacks the scope twins:read' }).waitFor(WAIT);
    await other.page.context().close();
  });

  it('fits a phone screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('link', { name: 'thermo-2' }).waitFor(WAIT);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // The table itself fits too: nothing to scroll sideways.
    expect(await page.locator('.table-wrap').evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  });

  it('signs out, and made no request outside its origin nor logged an unexpected error', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor(WAIT);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    const origin = new URL(t.url).origin;
    const wsOrigin = origin.replace(/^http/, 'ws');
    expect(w.requests.length).toBeGreaterThan(10);
    for (const url of w.requests) expect(url.startsWith(`${origin}/`) || url.startsWith(`${wsOrigin}/`), url).toBe(true);
    // The wrong token (401), the bad filter (400) and the conflict (412) were provoked on purpose;
    // the 404 is GET /v1/cluster saying this is a single node.
    const expected = /^error: Failed to load resource: the server responded with a status of (400|401|404|412) /;
    expect(w.problems.filter((p) => !expected.test(p))).toEqual([]);
  });
});

describe('a bigger fleet, then the server going away', () => {
  it('pages 50 twins at a time, then shows the live connection reconnecting and the server unreachable', async () => {
    const gone = await startTestServer();
    const ids = Array.from({ length: 55 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map(async (id) => json(await gone.call('POST', '/v1/twins', { body: { id } }), 201)));
    const w2 = await watchedPage(browser);
    let stopped = false;
    try {
      await signIn(w2.page, gone.url, ADMIN);
      await expectRows(w2.page, ids.slice(0, 50));
      await w2.page.getByRole('button', { name: 'Next page' }).click();
      await expectRows(w2.page, ids.slice(50));
      expect(await w2.page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
      await w2.page.getByRole('button', { name: 'Previous page' }).click();
      await expectRows(w2.page, ids.slice(0, 50));
      await w2.page.getByRole('status').filter({ hasText: 'Live' }).waitFor(WAIT);
      await gone.stop();
      stopped = true;
      await w2.page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor(WAIT);
      await w2.page.getByRole('button', { name: 'Apply' }).click();
      await w2.page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor(WAIT);
    } finally {
      await w2.page.context().close();
      if (!stopped) await gone.stop();
    }
  }, 60_000);
});

async function expectRows(page: Page, ids: string[]): Promise<void> {
  await page.locator('tbody tr').nth(ids.length - 1).waitFor(WAIT);
  await expect.poll(async () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-twin'))), WAIT).toEqual(ids);
}
