/**
 * A twin's `connection.online` in cluster mode: the twin's owner, the node holding the device's
 * WebSocket session and a third node are three different nodes, with a 2 s liveness window. While
 * the session is open the twin stays online on all three, long after the device's last message;
 * once it closes, every node shows it offline when the window has passed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { eventually } from '../support/eventually.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client } from '../ws/helpers.ts';
import { shardOf } from '../../src/cluster/shards.ts';
import { startNode } from './support.ts';
import type { DoppelNode } from './support.ts';

type Node = DoppelNode & { stop(): Promise<void> };
interface TwinJson { connection: { online: boolean; via: string | null; lastSeenAt: string | null } }

const LIVENESS_MS = 2_000;
let nats: NatsCluster;
const nodes: Node[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  nats = await startNats(3);
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats, id, 3, ['--liveness-seconds', String(LIVENESS_MS / 1000)]));
  // Until the shards are spread over the three nodes: owners then stay put while the test runs.
  await eventually(async () => {
    const held = await Promise.all(nodes.map(async (n) => {
      const text = await (await n.call('GET', '/metrics')).text();
      return Number(text.split('\n').find((l) => l.startsWith('doppel_cluster_shards_held '))?.split(' ')[1] ?? 0);
    }));
    return held.every((h) => h > 0) && held.reduce((a, b) => a + b, 0) === 32 ? true : undefined;
  }, 'the shards to be spread over the three nodes', 60_000);
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await nats?.stop();
}, 60_000);

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** The node holding the lease of the twin's shard, read from the lease bucket. */
async function ownerOf(twin: string): Promise<Node> {
  const nc = await natsConnect({ servers: nats.urls, timeout: 2_000 });
  try {
    const kv = await new Kvm(jetstream(nc)).open('dpl_doppel_leases');
    const holder = (JSON.parse((await kv.get(`s.${shardOf(twin)}`))!.string()) as { holder: string }).holder;
    return nodes.find((n) => n.id === holder)!;
  } finally {
    await nc.close();
  }
}

const onlineOn = async (node: Node, id: string): Promise<boolean> =>
  (await json<TwinJson>(await node.call('GET', `/v1/twins/${id}`), 200)).connection.online;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('online across nodes', () => {
  it('keeps a twin online on every node while its device session is open on a node that does not own it', async () => {
    const id = 'online-1';
    await json(await nodes[0]!.call('POST', '/v1/twins', { id }), 201);
    const owner = await ownerOf(id);
    const [session, third] = nodes.filter((n) => n !== owner) as [Node, Node];
    const { token } = await json<{ token: string }>(await third.call('POST', `/v1/twins/${id}/token`), 201);
    expect(await onlineOn(owner, id)).toBe(false);

    const device = await connect({ url: session.url } as TestServer, token);
    clients.push(device);
    await device.next((m) => m.op === 'delta');
    for (const node of nodes) await eventually(async () => (await onlineOn(node, id)) ? true : undefined, `online on ${node.id}`, 10_000);

    // Well past the window with no message from the device: the open session alone keeps it online.
    await sleep(LIVENESS_MS * 2);
    for (const node of [owner, third, session]) {
      const twin = await json<TwinJson>(await node.call('GET', `/v1/twins/${id}`), 200);
      expect(twin.connection, `on ${node.id}`).toMatchObject({ online: true, via: 'ws' });
    }

    device.close();
    await device.closed;
    // The window (2 s) plus slack for a busy machine: offline everywhere, and it stays so.
    for (const node of nodes) await eventually(async () => (await onlineOn(node, id)) ? undefined : true, `offline on ${node.id}`, LIVENESS_MS + 10_000);
    await sleep(LIVENESS_MS);
    for (const node of nodes) expect(await onlineOn(node, id), `still offline on ${node.id}`).toBe(false);
  }, 90_000);
});
