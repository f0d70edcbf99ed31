/**
 * One Doppel node in cluster mode on one real nats-server: HTTP, WebSocket and CoAP (through
 * libcoap's coap-client) behave as on a single node, with the state in JetStream; `/v1/cluster`
 * lists the node; a restart of the node keeps every twin (the state lives in NATS, not the data
 * directory). The whole integration suite can also run this way: DOPPEL_TEST_CLUSTER=1.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { libcoap } from '../coap/helpers.ts';
import { eventually } from '../support/eventually.ts';
import { changeVersions, connect, createTwin, getTwin, isChangeOf, patchTwin } from '../ws/helpers.ts';

let nats: NatsCluster;
let t: TestServer;

beforeAll(async () => {
  nats = await startNats(1);
  t = await startTestServer(['--node-id', 'solo'], { nats });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await nats?.stop();
});

describe('one cluster node on one nats-server', () => {
  it('is ready and lists itself in GET /v1/cluster (admin only)', async () => {
    expect((await t.call('GET', '/readyz')).status).toBe(200);
    // The URL is announced by the first heartbeat after the listeners are bound.
    const view = await eventually(async () => {
      const res = await t.call('GET', '/v1/cluster');
      expect(res.status).toBe(200);
      const body = await res.json() as { nodes: Array<{ url?: string }> };
      return body.nodes[0]?.url === undefined ? undefined : body;
    }, 'the node to announce its URL');
    expect(view).toEqual({ nodes: [{ id: 'solo', url: t.url, alive: true, twinsOwned: expect.any(Number) }], replicas: 1 });
    expect((await t.call('GET', '/v1/cluster', { token: null })).status).toBe(401);
  });

  it('serves twins over HTTP: create, patch, history, listing', async () => {
    await createTwin(t, 'sn-http', { desired: { temp: 20 } });
    await patchTwin(t, 'sn-http', { desired: { temp: 21 } });
    expect(await getTwin(t, 'sn-http')).toMatchObject({ id: 'sn-http', version: 2, desired: { temp: 21 } });
    const history = await (await t.call('GET', '/v1/twins/sn-http/history')).json() as { items: Array<{ version: number }> };
    expect(history.items.map((e) => e.version)).toEqual([1, 2]);
    const list = await (await t.call('GET', '/v1/twins?prefix=sn-')).json() as { items: Array<{ id: string }> };
    expect(list.items.map((x) => x.id)).toContain('sn-http');
  });

  it('streams every change to a WebSocket subscriber, in order', async () => {
    await createTwin(t, 'sn-ws');
    const c = await connect(t);
    try {
      c.send({ op: 'subscribe', ref: 's', twins: ['sn-ws'] });
      await c.next((m) => m.op === 'snapshot');
      for (let i = 0; i < 5; i++) await patchTwin(t, 'sn-ws', { desired: { n: i } });
      const changes = await c.take(5, isChangeOf('sn-ws'));
      expect(changeVersions(changes, 'sn-ws')).toEqual([2, 3, 4, 5, 6]);
    } finally {
      c.close();
    }
  });

  it('serves a device over CoAP with its token', async () => {
    await createTwin(t, 'sn-coap', { desired: { fw: '2.0' } });
    const token = ((await (await t.call('POST', '/v1/twins/sn-coap/token')).json()) as { token: string }).token;
    const uri = (path: string) => `coap://127.0.0.1:${t.server.coapPort}${path}?token=${token}`;
    const put = await libcoap(['-B', '5', '-m', 'put', '-t', '50', '-e', '{"fw":"2.0"}', uri('/t/sn-coap/reported')]);
    expect(put.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
    expect(await getTwin(t, 'sn-coap')).toMatchObject({ reported: { fw: '2.0' }, version: 2 });
    const got = await libcoap(['-B', '5', '-m', 'get', uri('/t/sn-coap')]);
    expect(JSON.parse(got.stdout)).toMatchObject({ desired: { fw: '2.0' }, reported: { fw: '2.0' } });
  });

  it('keeps every twin across a restart of the node (the state is in JetStream)', async () => {
    await createTwin(t, 'sn-restart', { desired: { a: 1 } });
    await t.stop();
    t = await startTestServer(['--node-id', 'solo'], { nats });
    expect(await getTwin(t, 'sn-restart')).toMatchObject({ version: 1, desired: { a: 1 } });
  });
});
