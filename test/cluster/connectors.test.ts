/**
 * Connectors in cluster mode: three Doppel nodes (child processes) on a three-server NATS cluster
 * (R3) and a real webhook receiver. A connector created on one node is listed on all; writes made
 * on every node are delivered at least once, in version order per twin; a kill -9 of the node
 * delivering a connector, with a backlog or while deliveries flow, leaves another node to deliver
 * the rest, in order. A failing twin holding more than its share of the (test-sized) window is
 * parked: other twins go on, and it is delivered in order once it recovers, after a kill -9 too.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect as natsConnect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeValue } from '../../src/store/codec.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../connectors/receiver.ts';
import { json, leaseHolder, startNode, startThreeNodes } from './support.ts';
import type { DoppelNode, ThreeNodes } from './support.ts';

type Node = DoppelNode & { stop(): Promise<void> };
const SECRET = 'a-webhook-secret-0123456789';

let cluster: ThreeNodes;
const receivers: Receiver[] = [];

/** The connectors' consumer window for this file (test-only variable), so one twin can outgrow it. */
const WINDOW = 32;

/** Starts nodes (child processes inherit the environment) with the test window. */
async function withTestWindow<T>(start: () => Promise<T>): Promise<T> {
  process.env.DOPPEL_TEST_CONNECTOR_WINDOW = String(WINDOW);
  try {
    return await start();
  } finally {
    delete process.env.DOPPEL_TEST_CONNECTOR_WINDOW;
  }
}

beforeAll(async () => { cluster = await withTestWindow(() => startThreeNodes()); }, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await Promise.all(receivers.map((r) => r.stop()));
}, 60_000);

async function receiver(): Promise<Receiver> {
  const r = new Receiver(SECRET);
  await r.start();
  receivers.push(r);
  return r;
}

const node = (i: number): Node => cluster.nodes[i % cluster.nodes.length]!;

/** The first delivery of each version comes in order 1..last (at least once: repeats allowed). */
function firstDeliveriesInOrder(versions: number[], last: number): boolean {
  const seen: number[] = [];
  for (const v of versions) if (!seen.includes(v)) seen.push(v);
  return seen.length === last && seen.every((v, i) => v === i + 1);
}

/** Where parked `twin` resumes on connector `id`, read from the connectors bucket (undefined: not parked). */
async function parkedFrom(id: string, twin: string): Promise<number | undefined> {
  const nats = cluster.nats;
  const nc = await natsConnect({ servers: nats.urls.filter((_, i) => nats.nodes[i]!.alive), timeout: 2_000 });
  try {
    const entry = await (await new Kvm(jetstream(nc)).open('dpl_doppel_connectors')).get(`p.${id}.${twin}`);
    return entry === null || entry.operation !== 'PUT' ? undefined : decodeValue<{ fromSeq: number }>(entry.value).fromSeq;
  } finally {
    await nc.close();
  }
}

/** A write, retried as a client honouring Retry-After would while a shard moves (503 unavailable). */
async function write(n: number | Node, method: string, path: string, body: unknown, status: number): Promise<void> {
  await eventually(async () => {
    const res = await (typeof n === 'number' ? node(n) : n).call(method, path, body);
    if (res.status === 503) { await res.body?.cancel(); return undefined; }
    await json(res, status);
    return true;
  }, `${method} ${path}`, 30_000);
}

/** Creates `twin` then patches it up to `versions`, each write on the next node in turn. */
async function writeAround(twin: string, versions: number, offset: number): Promise<void> {
  await write(offset, 'POST', '/v1/twins', { id: twin }, 201);
  for (let v = 2; v <= versions; v++) await write(offset + v, 'PATCH', `/v1/twins/${twin}`, { desired: { v } }, 200);
}

describe('connectors across nodes', () => {
  it('a connector created on one node is listed on all, and gets every node\'s writes in order per twin', async () => {
    const r = await receiver();
    const def = { id: 'cl-hook', kind: 'webhook', url: r.url, secret: SECRET, prefix: 'cl-a-', events: ['change', 'deleted'] };
    await json(await node(0).call('POST', '/v1/connectors', def), 201);
    await json(await node(1).call('POST', '/v1/connectors', def), 409);
    for (const n of cluster.nodes) {
      const { items } = await json<{ items: Array<Record<string, unknown>> }>(await n.call('GET', '/v1/connectors'), 200);
      expect(items.map((c) => c.id)).toContain('cl-hook');
      expect(items.find((c) => c.id === 'cl-hook')).not.toHaveProperty('secret');
    }
    const twins = ['cl-a-1', 'cl-a-2', 'cl-a-3', 'cl-a-4'];
    const VERSIONS = 6;
    await Promise.all(twins.map((twin, i) => writeAround(twin, VERSIONS, i)));
    await json(await node(0).call('POST', '/v1/twins', { id: 'other-1' }), 201);
    const gone = node(2);
    expect((await gone.call('DELETE', '/v1/twins/cl-a-4')).status).toBe(204);
    for (const twin of twins) {
      await eventually(async () => (firstDeliveriesInOrder(r.versionsOf(twin), VERSIONS) ? true : undefined), `all of ${twin}`, 30_000).catch((err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify(r.received.map((d) => d.eventId))}`); });
    }
    const deletion = await eventually(async () => r.received.find((d) => d.type === 'deleted'), 'the deletion', 30_000);
    expect(deletion).toMatchObject({ eventId: 'cl-a-4:6:deleted', event: { twin: 'cl-a-4', version: 6 } });
    expect(r.received.findIndex((d) => d.type === 'deleted')).toBeGreaterThan(r.received.findIndex((d) => d.eventId === 'cl-a-4:6'));
    expect(r.received.some((d) => d.event.twin === 'other-1')).toBe(false);
    expect(r.badSignatures).toBe(0);
    // The numbers the delivering node publishes, read from every node.
    const total = twins.length * VERSIONS + 1;
    for (const n of cluster.nodes) {
      await eventually(async () => {
        const s = await json<Record<string, unknown>>(await n.call('GET', '/v1/connectors/cl-hook'), 200);
        return (s.delivered as number) >= total && s.lag === 0 && s.state === 'healthy' ? s : undefined;
      }, `the numbers on node ${n.id}`, 30_000);
    }
    // The delivering node's /metrics counts what it delivered.
    const holderId = await leaseHolder(cluster.nats, 'connector:cl-hook');
    const holder = cluster.nodes.find((n) => n.id === holderId)!;
    const metrics = await (await holder.call('GET', '/metrics')).text();
    expect(Number(/doppel_connector_delivered_total\{connector="cl-hook"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    // Deleted on another node: gone everywhere, and no longer delivered.
    expect((await node(1).call('DELETE', '/v1/connectors/cl-hook')).status).toBe(204);
    for (const n of cluster.nodes) {
      expect((await n.call('GET', '/v1/connectors/cl-hook')).status).toBe(404);
      const { items } = await json<{ items: Array<{ id: string }> }>(await n.call('GET', '/v1/connectors'), 200);
      expect(items.map((c) => c.id)).not.toContain('cl-hook');
    }
  }, 180_000);

  it('after a kill -9 of the node delivering a connector with a backlog, another node delivers the rest in order', async () => {
    const r = await receiver();
    r.mode = 'fail';
    await json(await node(1).call('POST', '/v1/connectors', { id: 'cl-kill', kind: 'webhook', url: r.url, secret: SECRET, prefix: 'cl-k-' }), 201);
    const twins = ['cl-k-1', 'cl-k-2', 'cl-k-3', 'cl-k-4'];
    const VERSIONS = 8;
    await Promise.all(twins.map((twin, i) => writeAround(twin, VERSIONS, i)));
    await eventually(async () => {
      const s = await json<{ failed: number; state: string }>(await node(2).call('GET', '/v1/connectors/cl-kill'), 200);
      return s.failed >= 2 && s.state === 'failing' ? true : undefined;
    }, 'failing deliveries', 60_000);
    const holderId = await leaseHolder(cluster.nats, 'connector:cl-kill');
    const holder = cluster.nodes.find((n) => n.id === holderId)!;
    expect(holder).toBeDefined();
    await holder.stop(); // SIGKILL
    cluster.nodes.splice(cluster.nodes.indexOf(holder), 1);
    r.mode = 'ok';
    for (const twin of twins) {
      await eventually(async () => (firstDeliveriesInOrder(r.versionsOf(twin), VERSIONS) ? true : undefined), `all of ${twin} after the kill`, 90_000);
    }
    expect(await leaseHolder(cluster.nats, 'connector:cl-kill')).not.toBe(holderId);
    // Delivery goes on from the new holder for writes made after the kill.
    await write(0, 'PATCH', '/v1/twins/cl-k-1', { desired: { after: true } }, 200);
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-k-1'), VERSIONS + 1) ? true : undefined), 'a write after the kill', 60_000);
    expect(r.badSignatures).toBe(0);
    const s = await eventually(async () => {
      const v = await json<Record<string, unknown>>(await node(0).call('GET', '/v1/connectors/cl-kill'), 200);
      return v.lag === 0 && v.state === 'healthy' && (v.delivered as number) >= twins.length * VERSIONS + 1 ? v : undefined;
    }, 'caught up after the kill', 60_000);
    expect(s.failed as number).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('a kill -9 of the delivering node while writes and deliveries flow loses nothing and keeps each twin in order', async () => {
    const r = await receiver();
    await json(await node(0).call('POST', '/v1/connectors', { id: 'cl-live', kind: 'webhook', url: r.url, secret: SECRET, prefix: 'cl-l-' }), 201);
    const holderId = await leaseHolder(cluster.nats, 'connector:cl-live');
    const holder = cluster.nodes.find((n) => n.id === holderId)!;
    const others = cluster.nodes.filter((n) => n !== holder);
    const twins = ['cl-l-1', 'cl-l-2', 'cl-l-3'];
    const VERSIONS = 15;
    // Paced writers through the nodes that stay; the kill lands while they write.
    const writers = Promise.all(twins.map(async (twin, i) => {
      await write(others[i % others.length]!, 'POST', '/v1/twins', { id: twin }, 201);
      for (let v = 2; v <= VERSIONS; v++) {
        await write(others[(i + v) % others.length]!, 'PATCH', `/v1/twins/${twin}`, { desired: { v } }, 200);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }));
    await eventually(async () => (r.received.length >= 6 ? true : undefined), 'deliveries under way', 60_000);
    await holder.stop(); // SIGKILL, deliveries in flight
    cluster.nodes.splice(cluster.nodes.indexOf(holder), 1);
    await writers;
    for (const twin of twins) {
      await eventually(async () => (firstDeliveriesInOrder(r.versionsOf(twin), VERSIONS) ? true : undefined), `all of ${twin}`, 90_000)
        .catch((err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify(r.versionsOf(twin))}`); });
    }
    expect(r.badSignatures).toBe(0);
  }, 240_000);

  it('a failing twin is parked: other twins go on, and it is delivered in order once it recovers, after a kill -9 too', async () => {
    // The earlier tests killed two nodes: one more, so a node is left after this test's kill.
    cluster.nodes.push(await withTestWindow(() => startNode(cluster.nats, 'd', 3)));
    const r = await receiver();
    r.failing.add('cl-p-a');
    await json(await node(2).call('POST', '/v1/connectors', { id: 'cl-park', kind: 'webhook', url: r.url, secret: SECRET, prefix: 'cl-p-' }), 201);
    // More records of the failing twin than the window holds, then another twin's.
    const FIRST = WINDOW + 8;
    await write(0, 'POST', '/v1/twins', { id: 'cl-p-a' }, 201);
    for (let v = 2; v <= FIRST; v++) await write(v, 'PATCH', '/v1/twins/cl-p-a', { desired: { v } }, 200);
    await writeAround('cl-p-b', 5, 1);
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-p-b'), 5) ? true : undefined), 'the other twin while one fails', 60_000);
    expect(r.versionsOf('cl-p-a')).toEqual([]);
    expect(await eventually(() => parkedFrom('cl-park', 'cl-p-a'), 'the failing twin parked', 30_000)).toBeGreaterThan(0);
    // The target recovers: every event of the parked twin arrives, in order.
    r.failing.delete('cl-p-a');
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-p-a'), FIRST) ? true : undefined), 'the parked twin after recovery', 90_000)
      .catch((err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify(r.versionsOf('cl-p-a'))}`); });
    // Failing again and parked again, the delivering node is killed: the next one finishes it in order.
    r.failing.add('cl-p-a');
    const LAST = FIRST + WINDOW + 8;
    for (let v = FIRST + 1; v <= LAST; v++) await write(v, 'PATCH', '/v1/twins/cl-p-a', { desired: { v } }, 200);
    await write(0, 'PATCH', '/v1/twins/cl-p-b', { desired: { v: 6 } }, 200);
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-p-b'), 6) ? true : undefined), 'the other twin while one fails again', 60_000);
    await eventually(() => parkedFrom('cl-park', 'cl-p-a'), 'the failing twin parked again', 30_000);
    const holderId = await leaseHolder(cluster.nats, 'connector:cl-park');
    const holder = cluster.nodes.find((n) => n.id === holderId)!;
    await holder.stop(); // SIGKILL
    cluster.nodes.splice(cluster.nodes.indexOf(holder), 1);
    r.failing.delete('cl-p-a');
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-p-a'), LAST) ? true : undefined), 'the parked twin after the kill', 120_000)
      .catch((err: unknown) => { throw new Error(`${String(err)}: ${JSON.stringify(r.versionsOf('cl-p-a'))}`); });
    expect(await leaseHolder(cluster.nats, 'connector:cl-park')).not.toBe(holderId);
    await eventually(async () => ((await parkedFrom('cl-park', 'cl-p-a')) === undefined ? true : undefined), 'the twin unparked', 60_000);
    // Unparked: later writes of both twins go through the consumer again.
    await write(0, 'PATCH', '/v1/twins/cl-p-a', { desired: { after: true } }, 200);
    await write(1, 'PATCH', '/v1/twins/cl-p-b', { desired: { after: true } }, 200);
    await eventually(async () => (firstDeliveriesInOrder(r.versionsOf('cl-p-a'), LAST + 1) && firstDeliveriesInOrder(r.versionsOf('cl-p-b'), 7) ? true : undefined), 'writes after unparking', 60_000);
    expect(r.badSignatures).toBe(0);
  }, 300_000);
});
