/**
 * A connector's delivered, failed and dropped counts survive a clean restart of the server (they
 * are saved in its record at a clean stop, and every 10 s while running).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { startTestServer, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { Receiver } from './receiver.ts';

const SECRET = 'a-webhook-secret-0123456789';

describe('connector counts across a restart', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let t: TestServer | null = null;
  const receiver = new Receiver(SECRET);
  beforeAll(async () => { dir = await tempDir('doppel-conn-counts-'); await receiver.start(); });
  afterAll(async () => { await t?.stop(); await receiver.stop(); await dir.remove(); });

  const counts = async () => {
    const res = await t!.call('GET', '/v1/connectors/counted');
    expect(res.status).toBe(200);
    return res.json() as Promise<{ delivered: number; failed: number; dropped: number; lag: number }>;
  };

  it('shows the same counts after a clean restart, and counts on from there', async () => {
    t = await startTestServer([], { dataDir: dir.path });
    expect((await t.call('POST', '/v1/connectors', { body: { id: 'counted', kind: 'webhook', url: receiver.url, secret: SECRET } })).status).toBe(201);
    receiver.failing.add('n-1');
    expect((await t.call('POST', '/v1/twins', { body: { id: 'n-1' } })).status).toBe(201);
    await eventually(async () => ((await counts()).failed >= 2 ? true : undefined), 'failed attempts');
    receiver.failing.delete('n-1');
    for (let i = 0; i < 3; i++) expect((await t.call('PATCH', '/v1/twins/n-1', { body: { desired: { i } } })).status).toBe(200);
    const before = await eventually(async () => { const c = await counts(); return c.delivered === 4 && c.lag === 0 ? c : undefined; }, 'four delivered');
    await t.stop();

    t = await startTestServer([], { dataDir: dir.path });
    expect(await counts()).toMatchObject({ delivered: 4, failed: before.failed, dropped: 0 });
    expect((await t.call('PATCH', '/v1/twins/n-1', { body: { desired: { i: 9 } } })).status).toBe(200);
    await eventually(async () => ((await counts()).delivered === 5 ? true : undefined), 'counting on');
  }, 60_000);
});
