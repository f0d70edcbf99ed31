/**
 * Commands in the console's twin view, in the real Chromium against the real server: a direct
 * command answered by a device connected as a WebSocket device session (the `ws` package, with
 * the device token) shows the device's result; one it leaves unanswered is explained as a timeout;
 * a direct command with no device says it is offline; a queued command appears in the list and its Cancel shows `cancelled` live. At the end,
 * no request left the origin and the page logged only the refusals provoked on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { ensureConsoleBuilt, launchChromium, signIn, watchedPage, json } from './support.ts';
import type { WatchedPage } from './support.ts';

const WAIT = { timeout: 15_000 };
let t: TestServer;
let browser: Browser;
let w: WatchedPage;
let page: Page;
let device: Client | undefined;

beforeAll(async () => {
  await ensureConsoleBuilt();
  [t, browser] = await Promise.all([startTestServer(), launchChromium()]);
  for (const id of ['pump-1', 'pump-2']) await json(await t.call('POST', '/v1/twins', { body: { id } }), 201);
  w = await watchedPage(browser);
  page = w.page;
  await signIn(page, t.url, ADMIN);
  await page.getByRole('link', { name: 'pump-1', exact: true }).waitFor(WAIT);
}, 90_000);

afterAll(async () => {
  device?.close();
  await browser?.close();
  await t?.stop();
});

async function openTwin(id: string): Promise<void> {
  await page.evaluate((twin) => { location.hash = `#/twin/${twin}`; }, id);
  await page.getByRole('heading', { name: id, exact: true }).waitFor(WAIT);
  await page.getByRole('table', { name: 'Recent commands' }).waitFor(WAIT);
}

describe('commands in the twin view', () => {
  it('sends a direct command to a connected device and shows its answer', async () => {
    const token = (await json<{ token: string }>(await t.call('POST', '/v1/twins/pump-1/token'), 201)).token;
    device = await connect(t, token);
    const answerer = device;
    device.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      if (m.op !== 'command' || (m.command as { name: string }).name === 'hang') return; // 'hang' is never answered
      const cmd = m.command as { id: string; payload: { rpm: number } };
      answerer.send({ op: 'result', ref: 'a', command: cmd.id, status: 'succeeded', result: { rpm: cmd.payload.rpm, spinning: true } });
    });
    await openTwin('pump-1');
    await page.getByLabel('Command name').fill('spin');
    const payload = page.getByRole('textbox', { name: /^Payload/ });
    await payload.fill('{"rpm": ');
    // Not JSON: said at once, and Send changes nothing.
    await page.locator('#command-check', { hasText: 'Payload is not JSON' }).waitFor(WAIT);
    expect(await payload.getAttribute('aria-invalid')).toBe('true');
    await payload.fill('{"rpm": 1200}');
    await page.getByLabel('Wait up to (seconds)').fill('20');
    await page.getByRole('button', { name: 'Send command' }).click();
    const outcome = page.locator('.outcome');
    await outcome.filter({ hasText: 'The device answered spin: succeeded' }).waitFor(WAIT);
    expect(JSON.parse(await outcome.getByLabel('Result').textContent() ?? '')).toEqual({ rpm: 1200, spinning: true });
    const row = page.locator('tr[data-command]', { hasText: 'spin' });
    await row.locator('td.status', { hasText: 'succeeded' }).waitFor(WAIT);
    expect(await row.locator('td.result').textContent()).toBe('{"rpm":1200,"spinning":true}');
    expect(await row.getByRole('button', { name: /^Cancel/ }).count()).toBe(0); // ended: nothing to cancel
  });

  it('explains a device that does not answer in time', async () => {
    await page.getByLabel('Command name').fill('hang');
    await page.getByRole('textbox', { name: /^Payload/ }).fill('');
    await page.getByLabel('Wait up to (seconds)').fill('1');
    await page.getByRole('button', { name: 'Send command' }).click();
    await page.locator('.outcome', { hasText: 'The device did not answer within 1 s' }).waitFor(WAIT);
    expect(await page.locator('.outcome').textContent()).toContain('command_timeout');
    await page.locator('tr[data-command]', { hasText: 'hang' }).locator('td.status', { hasText: 'expired' }).waitFor(WAIT);
  });

  it('says the device is offline when a direct command has no device to reach', async () => {
    await openTwin('pump-2');
    await page.getByLabel('Command name').fill('reboot');
    await page.getByRole('button', { name: 'Send command' }).click();
    await page.locator('.outcome', { hasText: 'The device is offline' }).waitFor(WAIT);
    expect(await page.locator('.outcome').textContent()).toContain('device_offline');
    // Nothing was stored.
    expect((await json<{ items: unknown[] }>(await t.call('GET', '/v1/twins/pump-2/commands'), 200)).items).toEqual([]);
    expect(await page.locator('tr[data-command]').count()).toBe(0);
  });

  it('queues a command, lists it, and shows its cancellation live', async () => {
    await page.getByLabel('Command name').fill('selftest');
    await page.getByLabel('Queue until it connects').check();
    await page.getByLabel('Keep queued for').selectOption({ label: '1 day' });
    await page.getByRole('button', { name: 'Send command' }).click();
    await page.locator('.outcome', { hasText: 'Queued selftest' }).waitFor(WAIT);
    const stored = (await json<{ items: { id: string; status: string; expiresAt: string; createdAt: string }[] }>(await t.call('GET', '/v1/twins/pump-2/commands'), 200)).items;
    expect(stored.map((c) => c.status)).toEqual(['queued']);
    const ttl = Date.parse(stored[0]!.expiresAt) - Date.parse(stored[0]!.createdAt);
    expect(ttl).toBe(86_400_000);
    const row = page.locator(`tr[data-command="${stored[0]!.id}"]`);
    await row.locator('td.status', { hasText: 'queued' }).waitFor(WAIT);
    // A second one queued by someone else arrives over the WebSocket, newest first.
    const other = await json<{ id: string }>(await t.call('POST', '/v1/twins/pump-2/commands', { body: { name: 'calibrate', ttlSeconds: 600 } }), 202);
    await page.locator(`tr[data-command="${other.id}"]`).waitFor(WAIT);
    await expect.poll(() => page.locator('tr[data-command]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-command'))), WAIT)
      .toEqual([other.id, stored[0]!.id]);
    await row.getByRole('button', { name: /^Cancel/ }).click();
    await row.locator('td.status', { hasText: 'cancelled' }).waitFor(WAIT);
    expect((await json<{ status: string }>(await t.call('GET', `/v1/twins/pump-2/commands/${stored[0]!.id}`), 200)).status).toBe('cancelled');
    // Cancelled elsewhere: the page hears it on the WebSocket.
    await json(await t.call('DELETE', `/v1/twins/pump-2/commands/${other.id}`), 200);
    await page.locator(`tr[data-command="${other.id}"] td.status`, { hasText: 'cancelled' }).waitFor(WAIT);
  });

  it('made no request outside its origin and logged only the refusals provoked on purpose', async () => {
    const origin = new URL(t.url).origin;
    const wsOrigin = origin.replace(/^http/, 'ws');
    for (const url of w.requests) expect(url.startsWith(`${origin}/`) || url.startsWith(`${wsOrigin}/`), url).toBe(true);
    // 409 device_offline and 504 command_timeout.
    const expected = /^error: Failed to load resource: the server responded with a status of (409|504) /;
    expect(w.problems.filter((p) => !expected.test(p))).toEqual([]);
  });
});
