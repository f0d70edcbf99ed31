/**
 * Storage faults: while LevelDB writes fail (a fault injected before each physical batch, as a full
 * disk or an I/O error would), every write on every edge is refused with `unavailable` (HTTP 503,
 * CoAP 5.03, WS error) and changes nothing: not the twin, not its version, not its history, and
 * no subscriber hears of it. Reads keep working. When the fault clears, writes work again and
 * versions continue without a gap. The hook lives in the in-process store, hence this folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwin as createDevice, RawClient } from '../coap/helpers.ts';
import { expectProblem } from '../http/helpers.ts';
import { metric } from '../support/metric.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client } from '../ws/helpers.ts';

let t: TestServer;
let failing: string | null = null;
let device: RawClient;
let watcher: Client;
let deviceToken: string;

beforeAll(async () => {
  t = await startTestServer([], {
    storeHooks: { beforeBatch: () => { if (failing !== null) throw new Error(failing); } },
  });
  deviceToken = await createDevice(t, 'disk-1', { temp: 21 });
  device = await RawClient.open(t.server.coapPort);
  watcher = await connect(t);
  await watcher.request({ op: 'subscribe', twins: ['disk-1'] });
  await watcher.next((m) => m.op === 'snapshot');
});
afterAll(async () => {
  watcher.close();
  await device.close();
  await t.stop();
});

/** The stored twin; `connection` is left out: a device's contact is news even when its write failed. */
const twin = async () => {
  const { connection: _seen, ...stored } = (await (await t.call('GET', '/v1/twins/disk-1')).json()) as { version: number; connection: unknown };
  return stored;
};

describe('when LevelDB writes fail', () => {
  it('refuses writes on every edge with unavailable and changes nothing; reads keep working', async () => {
    const before = await twin();
    failing = 'IO error: No space left on device';

    await expectProblem(await t.call('PATCH', '/v1/twins/disk-1', { body: { desired: { temp: 22 } } }), 503, 'unavailable');
    await expectProblem(await t.call('POST', '/v1/twins', { body: { id: 'disk-new' } }), 503, 'unavailable');
    await expectProblem(await t.call('PATCH', '/v1/twins/disk-1/reported', { body: { temp: 19 }, token: deviceToken }), 503, 'unavailable');
    await expectProblem(await t.call('POST', '/v1/twins/disk-1/token'), 503, 'unavailable');
    await expectProblem(await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } }), 503, 'unavailable');
    await expectProblem(await t.call('DELETE', '/v1/twins/disk-1'), 503, 'unavailable');

    const coap = await device.request({ method: 'PUT', path: '/t/disk-1/reported', query: [`token=${deviceToken}`], payload: '{"temp":19}' });
    expect(coap.code).toBe('5.03');
    expect(coap.payload.toString('utf8')).toMatch(/^unavailable: /);

    const ws = await watcher.request({ op: 'patch', twin: 'disk-1', desired: { temp: 23 } });
    expect(ws).toMatchObject({ op: 'error', code: 'unavailable' });

    // Nothing changed, reads still answer, and the old device token still works for reading.
    expect(await twin()).toEqual(before);
    expect((await t.call('GET', '/v1/twins/disk-1/history')).status).toBe(200);
    expect((await t.call('GET', '/v1/twins?prefix=disk-')).status).toBe(200);
    expect((await t.call('GET', '/v1/twins/disk-new')).status).toBe(404);
    expect((await device.request({ path: '/t/disk-1', query: [`token=${deviceToken}`] })).code).toBe('2.05');
    expect(await metric(t, 'doppel_store_failed_commits_total')).toBeGreaterThanOrEqual(8);
    // The subscriber heard nothing.
    expect(watcher.pending().filter((m) => m.op === 'change')).toEqual([]);
  });

  it('recovers when the fault clears: writes work and versions continue without a gap', async () => {
    const before = await twin();
    failing = null;
    const patched = await t.call('PATCH', '/v1/twins/disk-1', { body: { desired: { temp: 22 } } });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { version: number }).version).toBe(before.version + 1);
    const coap = await device.request({ method: 'PUT', path: '/t/disk-1/reported', query: [`token=${deviceToken}`], payload: '{"temp":22}' });
    expect(coap.code).toBe('2.04');
    const change = await watcher.next((m) => m.op === 'change');
    expect(change.event).toMatchObject({ version: before.version + 1, patch: { desired: { temp: 22 } } });
    const history = (await (await t.call('GET', '/v1/twins/disk-1/history')).json()) as { items: Array<{ version: number }> };
    expect(history.items.map((e) => e.version)).toEqual(Array.from({ length: before.version + 2 }, (_, i) => i + 1));
    expect((await t.call('POST', '/v1/twins', { body: { id: 'disk-new' } })).status).toBe(201);
  });
});
