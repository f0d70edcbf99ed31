/**
 * The per-twin mailbox cap at the edges: with `--max-pending-per-twin 2` and the store holding the
 * first commit, one write runs and two wait; every further write to that twin is refused at
 * once with `unavailable` (HTTP 503, CoAP 5.03, WS error) instead of queueing without bound. Once
 * the store moves on, the three accepted writes land as consecutive versions. The gate is a hook in
 * the in-process store, hence this folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwin as createDevice, RawClient } from '../coap/helpers.ts';
import { expectProblem } from '../http/helpers.ts';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';

let t: TestServer;
let hold: Promise<void> | null = null;
let release: () => void = () => {};
let held = 0;

beforeAll(async () => {
  t = await startTestServer(['--max-pending-per-twin', '2'], {
    storeHooks: { beforeBatch: async () => { if (hold !== null) { held++; await hold; } } },
  });
});
afterAll(async () => { release(); await t.stop(); });

describe('a twin with a full mailbox', () => {
  it('refuses further requests with unavailable on every edge, then lands the accepted ones in order', async () => {
    const token = await createDevice(t, 'hot', { n: 0 });
    const device = await RawClient.open(t.server.coapPort);
    const app = await connect(t);
    try {
      hold = new Promise<void>((resolve) => { release = resolve; });
      const first = t.call('PATCH', '/v1/twins/hot', { body: { desired: { n: 1 } } });
      const deadline = Date.now() + 5000;
      while (held === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(held).toBe(1); // the first write is inside the store; the actor is busy with it
      const queued = [2, 3].map((n) => t.call('PATCH', '/v1/twins/hot', { body: { desired: { n } } }));
      // Two queue behind the first: wait until the actor holds all three (one running).
      await eventually(async () => ((await metric(t, 'doppel_mailbox_pending')) === 3 ? true : undefined), 'three pending requests');
      // A read of the resident twin takes no mailbox slot: it answers at once with the committed
      // state, never the write still inside the store.
      const read = await t.call('GET', '/v1/twins/hot');
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ version: 1, desired: { n: 0 } });
      await expectProblem(await t.call('PATCH', '/v1/twins/hot', { body: { desired: { n: 9 } } }), 503, 'unavailable');
      const coap = await device.request({ method: 'PUT', path: '/t/hot/reported', query: [`token=${token}`], payload: '{"n":3}' });
      expect(coap.code).toBe('5.03');
      expect(await app.request({ op: 'patch', twin: 'hot', desired: { n: 4 } })).toMatchObject({ op: 'error', code: 'unavailable' });

      hold = null;
      release();
      const results = await Promise.all([first, ...queued].map(async (r) => ((await (await r).json()) as { version: number }).version));
      expect(results).toEqual([2, 3, 4]);
      const twin = (await (await t.call('GET', '/v1/twins/hot')).json()) as { version: number; desired: unknown };
      expect(twin).toMatchObject({ version: 4, desired: { n: 3 } });
    } finally {
      app.close();
      await device.close();
    }
  });
});
