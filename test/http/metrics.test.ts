/**
 * The operator's view in /metrics: twins out of sync and the age of the oldest pending delta follow
 * the devices (and survive a restart, counted from the pending index), per-protocol latency
 * histograms fill as requests are served, and process and actor series exist with the right types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwin as createDevice, RawClient } from '../coap/helpers.ts';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { startTestServer, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let t: TestServer;
beforeAll(async () => {
  dir = await tempDir('doppel-metrics-');
  t = await startTestServer([], { dataDir: dir.path });
});
afterAll(async () => {
  await t.stop();
  await dir.remove();
});

const text = async () => (await t.call('GET', '/metrics')).text();
const outOfSync = () => eventually(async () => { const v = await metric(t, 'doppel_twins_out_of_sync'); return v !== undefined && !Number.isNaN(v) ? v : undefined; }, 'the out-of-sync count');

describe('/metrics', () => {
  it('counts twins out of sync as devices fall behind and catch up, across a restart', async () => {
    expect(await outOfSync()).toBe(0);
    expect(await metric(t, 'doppel_oldest_pending_delta_seconds')).toBe(0);
    const a = await createDevice(t, 'm-a', { temp: 21 });
    await createDevice(t, 'm-b', { temp: 22 });
    await t.call('POST', '/v1/twins', { body: { id: 'm-calm' } });
    expect(await outOfSync()).toBe(2);
    // Desired changes on a twin already behind: still one twin out of sync.
    await t.call('PATCH', '/v1/twins/m-a', { body: { desired: { temp: 23 } } });
    expect(await outOfSync()).toBe(2);
    const device = await RawClient.open(t.server.coapPort);
    try {
      expect((await device.request({ method: 'PUT', path: '/t/m-a/reported', query: [`token=${a}`], payload: '{"temp":23}' })).code).toBe('2.04');
    } finally {
      await device.close();
    }
    expect(await outOfSync()).toBe(1);
    expect((await t.call('DELETE', '/v1/twins/m-b')).status).toBe(204);
    expect(await outOfSync()).toBe(0);
    await t.call('PATCH', '/v1/twins/m-calm', { body: { desired: { on: true } } });
    expect(await outOfSync()).toBe(1);

    // After a restart the count comes from the pending index on disk.
    await t.server.close();
    t = await startTestServer([], { dataDir: dir.path });
    expect(await outOfSync()).toBe(1);
    const age = await eventually(async () => { const v = await metric(t, 'doppel_oldest_pending_delta_seconds'); return v !== undefined && v > 0 ? v : undefined; }, 'the oldest pending age');
    expect(age).toBeLessThan(60);
  });

  it('fills the CoAP and WebSocket latency histograms and exposes process and actor series', async () => {
    const token = await createDevice(t, 'm-lat', { temp: 1 });
    const device = await RawClient.open(t.server.coapPort);
    const app = await connect(t);
    try {
      await device.request({ path: '/t/m-lat', query: [`token=${token}`] });
      await app.request({ op: 'get', twin: 'm-lat' });
    } finally {
      app.close();
      await device.close();
    }
    const body = await text();
    expect(body).toMatch(/^doppel_coap_request_duration_seconds_count\{method="GET"\} [1-9]/m);
    expect(body).toMatch(/^doppel_ws_request_duration_seconds_count\{op="get"\} [1-9]/m);
    expect(body).toContain('# TYPE doppel_actors_activated_total counter');
    expect(body).toContain('# TYPE doppel_actors_passivated_total counter');
    // Every twin used since the start was loaded into its actor once: the activation histogram has them.
    expect(body).toMatch(/^doppel_actors_activation_seconds_count [1-9]/m);
    expect(body).toContain('# TYPE process_cpu_seconds_total counter');
    expect(await metric(t, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
    const started = (await metric(t, 'process_start_time_seconds'))!;
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(3600);
  });
});
