/**
 * A twin's `connection.online` in cluster mode: the twin's owner, the node holding the device's
 * WebSocket session and a third node are three different nodes, with a 2 s liveness window. While
 * the session is open the twin stays online on all three, long after the device's last message;
 * once it closes, every node shows it offline when the window has passed. Listings (`GET /v1/twins`)
 * on every node agree with the single reads, filters on `connection.online` and the snapshots of
 * prefix subscriptions included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client } from '../ws/helpers.ts';
import { json, startThreeNodes } from './support.ts';
import type { DoppelNode, ThreeNodes } from './support.ts';

type Node = DoppelNode & { stop(): Promise<void> };
interface TwinJson { connection: { online: boolean; via: string | null; lastSeenAt: string | null } }

const LIVENESS_MS = 2_000;
let cluster: ThreeNodes;
let nodes: Node[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  cluster = await startThreeNodes(['--liveness-seconds', String(LIVENESS_MS / 1000)]);
  nodes = cluster.nodes;
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

const ownerOf = (twin: string): Promise<Node> => cluster.ownerOf(twin);

const onlineOn = async (node: Node, id: string): Promise<boolean> =>
  (await json<TwinJson>(await node.call('GET', `/v1/twins/${id}`), 200)).connection.online;
/** The twin's connection as a listing of `id`'s prefix on `node` shows it (with `filter`, if given). */
const listedOn = async (node: Node, id: string, filter?: string): Promise<TwinJson['connection'] | undefined> => {
  const query = new URLSearchParams({ prefix: id, ...(filter === undefined ? {} : { filter }) });
  const page = await json<{ items: Array<TwinJson & { id: string }> }>(await node.call('GET', `/v1/twins?${query}`), 200);
  return page.items.find((t) => t.id === id)?.connection;
};
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
      // A listing says what the single read says, on the owner and on the nodes that do not own it.
      expect(await listedOn(node, id), `listed on ${node.id}`).toMatchObject({ online: true, via: 'ws' });
      expect(await listedOn(node, id, 'connection.online == true'), `filtered on ${node.id}`).toMatchObject({ online: true });
      // So does the snapshot of a prefix subscription (it lists the same way).
      const app = await connect({ url: node.url } as TestServer);
      clients.push(app);
      expect(await app.request({ op: 'subscribe', prefix: id })).toMatchObject({ op: 'subscribed' });
      expect(await app.next((m) => m.op === 'snapshot'), `snapshot on ${node.id}`).toMatchObject({ twin: { id, connection: { online: true, via: 'ws' } } });
      app.close();
    }

    device.close();
    await device.closed;
    // The window (2 s) plus slack for a busy machine: offline everywhere, and it stays so.
    for (const node of nodes) await eventually(async () => (await onlineOn(node, id)) ? undefined : true, `offline on ${node.id}`, LIVENESS_MS + 10_000);
    await sleep(LIVENESS_MS);
    for (const node of nodes) {
      expect(await onlineOn(node, id), `still offline on ${node.id}`).toBe(false);
      expect(await listedOn(node, id), `listed offline on ${node.id}`).toMatchObject({ online: false, via: 'ws' });
      expect(await listedOn(node, id, 'connection.online == true'), `filtered out on ${node.id}`).toBeUndefined();
    }
  }, 90_000);
});
