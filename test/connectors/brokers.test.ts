/**
 * NATS and MQTT connectors against real brokers (nats-server, mosquitto): every change published
 * under the twin's subject/topic in version order, JetStream acks when a stream captures the
 * subject, and delivery resumes in order after a broker outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectAsync } from 'mqtt';
import { eventually } from '../support/eventually.ts';
import { startMosquitto } from '../support/mosquitto.ts';
import type { Mosquitto } from '../support/mosquitto.ts';
import { freePort, startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { inOrderUpTo } from './receiver.ts';

interface Body { type: string; event: { twin: string; version: number } }

describe('NATS and MQTT connectors', () => {
  let t: TestServer;
  let nats: NatsCluster;
  let mosquitto: Mosquitto;

  beforeAll(async () => {
    [t, nats, mosquitto] = await Promise.all([startTestServer(), startNats(1).then(async (n) => { await n.ready(); return n; }), startMosquitto()]);
  }, 60_000);
  afterAll(async () => { await t.stop(); await nats.stop(); await mosquitto.remove(); });

  async function writes(twin: string, count: number): Promise<void> {
    expect((await t.call('POST', '/v1/twins', { body: { id: twin } })).status).toBe(201);
    for (let i = 0; i < count - 1; i++) expect((await t.call('PATCH', `/v1/twins/${twin}`, { body: { desired: { i } } })).status).toBe(200);
  }

  it('publishes to <subject>.<twin id>, a dotted id as one token, stored by JetStream when a stream captures it', async () => {
    const nc = await connect({ servers: nats.urls[0] });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'TWINS', subjects: ['twins.>'] });
      const seen: { subject: string; body: Body }[] = [];
      const sub = nc.subscribe('twins.>', { callback: (_err, msg) => { seen.push({ subject: msg.subject, body: msg.json<Body>() }); } });
      await nc.flush();
      const res = await t.call('POST', '/v1/connectors', { body: { id: 'to-nats', kind: 'nats', url: nats.urls[0], subject: 'twins', prefix: 'nt.' } });
      expect(res.status, await res.clone().text()).toBe(201);
      await writes('nt.a', 4);
      await writes('nt.b', 2);
      await eventually(async () => (seen.length >= 6 ? true : undefined), 'six messages', 20_000);
      sub.unsubscribe();
      expect(seen.filter((m) => m.subject === 'twins.nt%2Ea').map((m) => m.body.event.version)).toEqual([1, 2, 3, 4]);
      expect(seen.filter((m) => m.subject === 'twins.nt%2Eb').map((m) => m.body.event.version)).toEqual([1, 2]);
      expect(seen[0]!.body.type).toBe('change');
      const info = await jsm.streams.info('TWINS');
      expect(info.state.messages).toBe(6);
      const status = await (await t.call('GET', '/v1/connectors/to-nats')).json() as { delivered: number; lag: number };
      expect(status.delivered).toBe(6);
    } finally {
      await nc.close();
    }
  }, 60_000);

  it('publishes plainly, acknowledged by the server, when only plain subscribers listen on the subject', async () => {
    const nc = await connect({ servers: nats.urls[0] });
    try {
      const seen: string[] = [];
      const sub = nc.subscribe('plain.>', { callback: (_err, msg) => { seen.push(msg.subject); } });
      await nc.flush();
      expect((await t.call('POST', '/v1/connectors', { body: { id: 'to-nats-plain', kind: 'nats', url: nats.urls[0], subject: 'plain', prefix: 'np-' } })).status).toBe(201);
      await writes('np-1', 2);
      const s = await eventually(async () => {
        const v = await (await t.call('GET', '/v1/connectors/to-nats-plain')).json() as { delivered: number; failed: number };
        return v.delivered === 2 ? v : undefined;
      }, 'two delivered', 20_000);
      expect(s.failed).toBe(0);
      expect(seen).toEqual(['plain.np-1', 'plain.np-1']);
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  }, 60_000);

  it('publishes with QoS 1 to <topic>/<twin id> and resumes in order after the broker was down', async () => {
    const client = await connectAsync(mosquitto.url, { clientId: 'test-sub', clean: false, reconnectPeriod: 200 });
    const seen: { topic: string; body: Body }[] = [];
    client.on('message', (topic, payload) => { seen.push({ topic, body: JSON.parse(payload.toString()) as Body }); });
    try {
      await client.subscribeAsync('plant/#', { qos: 1 });
      const res = await t.call('POST', '/v1/connectors', { body: { id: 'to-mqtt', kind: 'mqtt', url: mosquitto.url, topic: 'plant', prefix: 'mq-' } });
      expect(res.status, await res.clone().text()).toBe(201);
      await writes('mq-1', 3);
      await eventually(async () => (seen.length >= 3 ? true : undefined), 'three messages', 20_000);
      expect(seen.map((m) => m.topic)).toEqual(['plant/mq-1', 'plant/mq-1', 'plant/mq-1']);
      expect(seen.map((m) => m.body.event.version)).toEqual([1, 2, 3]);

      await mosquitto.stop();
      for (let i = 0; i < 3; i++) expect((await t.call('PATCH', '/v1/twins/mq-1', { body: { desired: { later: i } } })).status).toBe(200);
      await eventually(async () => { const s = await (await t.call('GET', '/v1/connectors/to-mqtt')).json() as { state: string }; return s.state === 'failing' ? true : undefined; }, 'failing', 30_000);
      await mosquitto.start();
      // The broker keeps the subscriber's session across the restart (test/support/mosquitto.ts).
      await eventually(async () => (seen.some((m) => m.body.event.version === 6) ? true : undefined), 'version 6', 60_000);
      const versions = seen.filter((m) => m.topic === 'plant/mq-1').map((m) => m.body.event.version);
      expect(inOrderUpTo(versions.filter((v) => v <= 3), 3)).toBe(true);
      expect(versions.filter((v) => v > 3)).toEqual([4, 5, 6]);
    } finally {
      await client.endAsync(true);
    }
  }, 120_000);

  it('deletes a connector whose broker never answered without waiting for it', async () => {
    const deadUrl = `mqtt://127.0.0.1:${await freePort()}`;
    expect((await t.call('POST', '/v1/connectors', { body: { id: 'dead-mqtt', kind: 'mqtt', url: deadUrl, topic: 'x', prefix: 'dead-' } })).status).toBe(201);
    expect((await t.call('POST', '/v1/twins', { body: { id: 'dead-1' } })).status).toBe(201);
    await eventually(async () => { const s = await (await t.call('GET', '/v1/connectors/dead-mqtt')).json() as { state: string }; return s.state === 'failing' ? true : undefined; }, 'failing', 30_000);
    expect((await t.call('DELETE', '/v1/connectors/dead-mqtt')).status).toBe(204);
    expect((await t.call('GET', '/v1/connectors/dead-mqtt')).status).toBe(404);
  }, 60_000);
});
