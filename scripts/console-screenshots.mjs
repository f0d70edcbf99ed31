#!/usr/bin/env node
/**
 * Starts a real server (node dist/src/cli.js serve, temp data dir) with demo twins, drives the web
 * console in Chromium and writes docs/images/console-fleet.png and docs/images/console-twin.png.
 *
 *   npm run build && node scripts/console-screenshots.mjs                 # the screenshots
 *   npm run build && node scripts/console-screenshots.mjs --measure 10000 # time to first render with N twins
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ADMIN = 'console-demo-admin-token-0123456789';
const measureIndex = process.argv.indexOf('--measure');
const measure = measureIndex > 0 ? Number(process.argv[measureIndex + 1]) : 0;

async function startServer(dataDir) {
  const child = spawn(process.execPath, [join(root, 'dist/src/cli.js'), 'serve', '--http', '0', '--coap', '0', '--data', dataDir], {
    cwd: root, env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} (run npm run build first)`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.msg === 'listening') resolve(e.http); } catch { /* not a log line */ }
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

function client(url) {
  return async (method, path, body, token = ADMIN) => {
    const res = await fetch(url + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
}

/** A small believable fleet: thermostats and valves on three sites, some converged, some not. */
async function demoFleet(call) {
  const sites = ['berlin', 'lisbon', 'oslo'];
  for (let i = 1; i <= 24; i++) {
    const kind = i % 4 === 0 ? 'valve' : 'thermo';
    const id = `${sites[i % 3]}:${kind}-${String(i).padStart(2, '0')}`;
    const desired = kind === 'valve' ? { open: 40 + i } : { temp: 20 + (i % 4), mode: i % 5 === 0 ? 'comfort' : 'eco' };
    await call('POST', '/v1/twins', { id, desired, tags: { site: sites[i % 3], floor: 1 + (i % 3) } });
    if (i % 3 === 2) continue; // never reported: offline, pending
    const { token } = await call('POST', `/v1/twins/${encodeURIComponent(id)}/token`);
    const reported = i % 7 === 0 ? { ...desired, ...(kind === 'valve' ? { open: 10 } : { temp: 17.5 }) } : desired;
    await call('PATCH', `/v1/twins/${encodeURIComponent(id)}/reported`, { ...reported, fw: '1.4.2' }, token);
  }
  const id = 'berlin:thermo-03';
  await call('PATCH', `/v1/twins/${encodeURIComponent(id)}`, { desired: { temp: 22, schedule: { weekday: '06:30', weekend: '08:00' } } });
  const { token } = await call('POST', `/v1/twins/${encodeURIComponent(id)}/token`);
  for (const [temp, humidity] of [[19.2, 48], [19.8, 47], [20.5, 45], [21.1, 44], [21.4, 44], [21.6, 43], [21.8, 42]]) {
    await call('PATCH', `/v1/twins/${encodeURIComponent(id)}/reported`, { temp, humidity }, token);
  }
  // Commands: one answered (queued, fetched by the device as a gateway would, answered), one still queued.
  const commands = `/v1/twins/${encodeURIComponent(id)}/commands`;
  const selftest = await call('POST', commands, { name: 'selftest', payload: { sensors: true }, ttlSeconds: 3600 });
  await call('GET', `${commands}?status=queued`, undefined, token);
  await call('POST', `${commands}/${selftest.id}/result`, { status: 'succeeded', result: { sensors: 'ok', battery: 0.92 } }, token);
  await call('POST', commands, { name: 'firmware.update', payload: { version: '1.5.0' }, ttlSeconds: 86_400 });
  return id;
}

async function manyTwins(call, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await call('POST', '/v1/twins', { id: `dev-${String(i).padStart(5, '0')}`, desired: { temp: 20 + (i % 5) }, tags: { site: `s${i % 10}` } });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

const data = await mkdtemp(join(tmpdir(), 'doppel-console-shots-'));
const server = await startServer(data);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const call = client(server.url);
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 }, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  if (measure > 0) {
    const started = Date.now();
    await manyTwins(call, measure);
    console.log(`seeded ${measure} twins in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('tbody tr');
    for (let run = 1; run <= 3; run++) {
      await page.reload();
      await page.waitForSelector('tbody tr', { timeout: 60_000 });
      // From the first rows on, record the longest gap between animation frames while the snapshots stream in.
      const firstRows = await page.evaluate(() => {
        const w = window;
        w.longestFrame = 0;
        let last = performance.now();
        const tick = (t) => { w.longestFrame = Math.max(w.longestFrame, t - last); last = t; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        return performance.now();
      });
      await page.waitForFunction((n) => document.querySelector('.counts')?.textContent?.includes(`${n} twins followed`), measure, { timeout: 120_000, polling: 50 });
      const [allLive, longest] = await page.evaluate(() => [performance.now(), window.longestFrame]);
      console.log(`run ${run}: first rows ${firstRows.toFixed(0)} ms after navigation; all ${measure} twins followed live after ${allLive.toFixed(0)} ms; longest frame meanwhile ${longest.toFixed(0)} ms`);
    }
  } else {
    const twinId = await demoFleet(call);
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('.counts >> text=24 twins followed');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(root, 'docs/images/console-fleet.png') });
    await page.getByRole('link', { name: twinId, exact: true }).click();
    await page.waitForSelector('.chart svg');
    await page.locator('tr[data-command]').nth(1).waitFor();
    await page.getByLabel('Command name').fill('reboot');
    await page.getByRole('textbox', { name: /^Payload/ }).fill('{"delay": 5}');
    await page.getByRole('textbox', { name: 'Desired', exact: true }).fill('{\n  "temp": 22.5,\n  "mode": "eco",\n  "schedule": { "weekday": "06:30", "weekend": "08:00" }\n}');
    await page.screenshot({ path: join(root, 'docs/images/console-twin.png'), fullPage: true });
    console.log('wrote docs/images/console-fleet.png and docs/images/console-twin.png');
  }
} finally {
  await browser.close();
  await server.stop();
  await rm(data, { recursive: true, force: true });
}
