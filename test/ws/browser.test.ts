/**
 * A real browser as the app: a page served from a throwaway server (not from Doppel, so the socket
 * is cross-origin as in practice) opens `new WebSocket(…?access_token=…)`, subscribes to a twin and
 * writes each change into the DOM; the test patches the twin over HTTP and waits for the page to
 * show the new value.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, patchTwin } from './helpers.ts';

let t: TestServer;
let browser: Browser;
let pages: Server;

const page = (wsUrl: string) => `<!doctype html>
<meta charset="utf-8">
<title>doppel ws</title>
<p id="status">connecting</p>
<ul id="events"></ul>
<script>
  const socket = new WebSocket(${JSON.stringify(wsUrl)});
  const status = document.getElementById('status');
  socket.onopen = () => socket.send(JSON.stringify({ op: 'subscribe', ref: 'page', twins: ['browser-1'] }));
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.op === 'subscribed') status.textContent = 'subscribed';
    if (m.op === 'snapshot') status.textContent = 'temp ' + m.twin.desired.temp;
    if (m.op === 'change') {
      const li = document.createElement('li');
      li.textContent = m.event.version + ': temp ' + m.event.patch.desired.temp;
      document.getElementById('events').append(li);
    }
  };
  socket.onclose = (e) => { status.textContent = 'closed ' + e.code; };
</script>`;

beforeAll(async () => {
  t = await startTestServer();
  await createTwin(t, 'browser-1', { desired: { temp: 20 } });
  const wsUrl = `${t.url.replace(/^http/, 'ws')}/v1/ws?access_token=${encodeURIComponent(ADMIN)}`;
  pages = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(page(wsUrl)); });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()));
  await t?.stop();
});

describe('a browser app', () => {
  it('subscribes with ?access_token= and shows a change made over HTTP', async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);
    await tab.locator('#status', { hasText: 'temp 20' }).waitFor({ timeout: 15_000 });
    await patchTwin(t, 'browser-1', { desired: { temp: 23 } });
    await tab.locator('#events li', { hasText: '2: temp 23' }).waitFor({ timeout: 15_000 });
    expect(await tab.locator('#events li').allTextContents()).toEqual(['2: temp 23']);
    await tab.close();
  });
});
