/**
 * The console's Admin view on a cluster node (cluster mode on one real nats-server): the nodes
 * from `GET /v1/cluster` with their state and twins owned, and the replica count. An API key with
 * keys:admin is told that only the admin token may see them. Nothing leaves the origin and the
 * page logs nothing but that 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { eventually } from '../support/eventually.ts';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { ensureConsoleBuilt, launchChromium, signIn, watchedPage } from './support.ts';

const WAIT = { timeout: 20_000 };
let nats: NatsCluster;
let t: TestServer;
let browser: Browser;

beforeAll(async () => {
  await ensureConsoleBuilt();
  nats = await startNats(1);
  [t, browser] = await Promise.all([startTestServer(['--node-id', 'solo'], { nats }), launchChromium()]);
  for (const id of ['c-1', 'c-2']) expect((await t.call('POST', '/v1/twins', { body: { id } })).status).toBe(201);
  // The node lists itself after its first heartbeat.
  await eventually(async () => ((await soloNode())?.alive === true ? true : undefined), 'the node alive in GET /v1/cluster', 30_000);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await nats?.stop();
}, 60_000);

describe('cluster nodes in Admin', () => {
  it('shows each node, alive, with the twins it owns, and the replicas', async () => {
    const w = await watchedPage(browser);
    await signIn(w.page, t.url, ADMIN);
    await w.page.getByRole('link', { name: 'c-1', exact: true }).waitFor(WAIT);
    await w.page.getByRole('link', { name: 'Admin' }).click();
    const row = w.page.getByRole('table', { name: 'Cluster nodes' }).locator('tr[data-node="solo"]');
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain('alive');
    expect(await row.locator('td').nth(1).textContent()).toBe((await soloNode())?.url ?? '—');
    expect(Number(await row.locator('td.num').textContent())).toBeGreaterThanOrEqual(0);
    expect(await w.page.getByTestId('cluster-mode').textContent()).toBe('1 of 1 nodes alive; every record is kept in 1 replica.');
    const origin = new URL(t.url).origin;
    for (const url of w.requests) expect(url.startsWith(`${origin}/`) || url.startsWith(origin.replace(/^http/, 'ws') + '/'), url).toBe(true);
    expect(w.problems).toEqual([]);
    await w.page.context().close();
  });

  it('tells a keys:admin key that only the admin token sees the nodes', async () => {
    const key = await (await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read', 'keys:admin'] } })).json() as { token: string };
    const w = await watchedPage(browser);
    await signIn(w.page, t.url, key.token);
    await w.page.getByRole('link', { name: 'c-1', exact: true }).waitFor(WAIT);
    await w.page.getByRole('link', { name: 'Admin' }).click();
    await w.page.getByRole('alert').filter({ hasText: 'Only the admin token may see the cluster' }).waitFor(WAIT);
    expect(w.problems.filter((p) => !/status of 403 /.test(p))).toEqual([]);
    await w.page.context().close();
  });
});

async function soloNode(): Promise<{ id: string; url?: string; alive: boolean } | undefined> {
  const res = await t.call('GET', '/v1/cluster');
  if (res.status !== 200) return undefined;
  const view = await res.json() as { nodes: { id: string; url?: string; alive: boolean }[] };
  return view.nodes.find((n) => n.id === 'solo');
}
