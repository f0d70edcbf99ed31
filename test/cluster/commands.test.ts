/**
 * Commands across a cluster: three Doppel nodes (child processes) on a three-server NATS cluster.
 * The twin's owner, the node holding the device's WebSocket session and the node the caller asks
 * are three different nodes: a direct command reaches the session and its answer comes back in the
 * 200; with no session anywhere it is 409 device_offline; a queued command is pushed to the
 * session and its result read from a third node; a kill -9 of the owner after a 202 loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { json, startThreeNodes } from './support.ts';
import type { DoppelNode, ThreeNodes } from './support.ts';

type Node = DoppelNode & { stop(): Promise<void> };
interface CommandJson { id: string; status: string; result?: unknown }

let cluster: ThreeNodes;
let nodes: Node[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  cluster = await startThreeNodes();
  nodes = cluster.nodes;
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
}, 60_000);

const ownerOf = (twin: string): Promise<Node> => cluster.ownerOf(twin);

/** Creates the twin and names its owner, a session node and a caller: three different nodes. */
async function threeRoles(id: string): Promise<{ owner: Node; session: Node; caller: Node; token: string }> {
  await json(await nodes[0]!.call('POST', '/v1/twins', { id }), 201);
  const owner = await ownerOf(id);
  const [session, caller] = nodes.filter((n) => n !== owner) as [Node, Node];
  const { token } = await json<{ token: string }>(await caller.call('POST', `/v1/twins/${id}/token`), 201);
  return { owner, session, caller, token };
}

async function deviceOn(node: Node, token: string): Promise<Client> {
  const d = await connect({ url: node.url } as TestServer, token);
  clients.push(d);
  await d.next((m) => m.op === 'delta'); // the session is a command sink before its delta is sent
  return d;
}

const isCommand = (m: Msg) => m.op === 'command';

describe('commands across nodes', () => {
  it('a direct command invoked on one node reaches the device session on another, and the 200 carries its result', async () => {
    const { session, caller, token } = await threeRoles('cc-direct');
    const d = await deviceOn(session, token);
    d.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      if (m.op !== 'command') return;
      const { id, payload } = m.command as { id: string; payload: { x: number } };
      d.send({ op: 'result', ref: 'r', command: id, status: 'succeeded', result: { doubled: payload.x * 2 } });
    });
    const res = await caller.call('POST', '/v1/twins/cc-direct/commands', { name: 'double', payload: { x: 21 }, timeoutMs: 20_000 });
    expect(await json<CommandJson>(res, 200)).toMatchObject({ status: 'succeeded', result: { doubled: 42 } });
  });

  it('with no live session on any node a direct command is 409 device_offline', async () => {
    const { session, caller, token } = await threeRoles('cc-offline');
    const d = await deviceOn(session, token);
    d.close();
    await d.closed;
    // The session node sees the close a moment later: poll until the owner hears nobody.
    await eventually(async () => {
      const res = await caller.call('POST', '/v1/twins/cc-offline/commands', { name: 'ping', timeoutMs: 1_000 });
      const body = await res.json() as { code?: string };
      return res.status === 409 && body.code === 'device_offline' ? true : undefined;
    }, 'device_offline once the session closed', 20_000);
  });

  it('a queued command added on the owner is pushed to the session on another node; its result is read on a third', async () => {
    const { owner, session, caller, token } = await threeRoles('cc-queued');
    const d = await deviceOn(session, token);
    const added = await json<CommandJson>(await owner.call('POST', '/v1/twins/cc-queued/commands', { name: 'reboot', payload: { delay: 1 }, ttlSeconds: 600 }), 202);
    expect(await d.next(isCommand, 20_000)).toEqual({ op: 'command', command: { id: added.id, name: 'reboot', payload: { delay: 1 } } });
    expect(await d.request({ op: 'result', command: added.id, status: 'succeeded', result: { up: true } })).toMatchObject({ op: 'ok' });
    expect(await json<CommandJson>(await caller.call('GET', `/v1/twins/cc-queued/commands/${added.id}`), 200)).toMatchObject({ status: 'succeeded', result: { up: true } });
    // The first answer wins, whichever node it arrives on.
    expect(await d.request({ op: 'result', command: added.id, status: 'failed' })).toMatchObject({ op: 'error', code: 'command_ended' });
  });

  it('a kill -9 of the owner after a queued 202 loses nothing: another node serves the command and runs its expiry', async () => {
    const { owner, session, caller, token } = await threeRoles('cc-kill');
    const added = await json<CommandJson>(await caller.call('POST', '/v1/twins/cc-kill/commands', { name: 'update', payload: { v: 2 }, ttlSeconds: 600 }), 202);
    const brief = await json<CommandJson>(await caller.call('POST', '/v1/twins/cc-kill/commands', { name: 'blink', ttlSeconds: 3 }), 202);
    const app = await connect({ url: session.url } as TestServer);
    clients.push(app);
    expect(await app.request({ op: 'subscribe', twins: ['cc-kill'] })).toMatchObject({ op: 'subscribed' });
    await owner.child.kill('SIGKILL');
    nodes.splice(nodes.indexOf(owner), 1);
    await owner.stop();
    // Nobody reads the commands: the new owner's expiry timer ends the brief one by itself.
    const expired = await app.next((m) => m.op === 'command' && (m.command as CommandJson).id === brief.id && (m.command as CommandJson).status === 'expired', 30_000);
    expect(expired).toMatchObject({ twin: 'cc-kill' });
    const listed = await json<{ items: CommandJson[] }>(await caller.call('GET', '/v1/twins/cc-kill/commands'), 200);
    expect(listed.items.map((c) => [c.id, c.status])).toEqual([[brief.id, 'expired'], [added.id, 'queued']]);
    const d = await connect({ url: session.url } as TestServer, token);
    clients.push(d);
    expect(await d.next(isCommand, 20_000)).toEqual({ op: 'command', command: { id: added.id, name: 'update', payload: { v: 2 } } });
  });
});
