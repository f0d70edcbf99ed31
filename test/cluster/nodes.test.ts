/**
 * Three Doppel nodes (child processes) on a three-server NATS cluster with R3: every node serves
 * every twin (requests for a twin owned elsewhere are forwarded), subscriptions on one node see
 * writes made through another in order, `since` resumes across nodes, listings see writes
 * acknowledged anywhere; then kill -9 of a twin's owner (the others take over within 10 s, nothing
 * acknowledged is lost, history stays contiguous) and loss of the NATS quorum (writes answer
 * unavailable within seconds, /readyz 503, then recovery).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { eventually } from '../support/eventually.ts';
import type { TestServer } from '../support/server.ts';
import { changeVersions, connect, isChangeOf } from '../ws/helpers.ts';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { shardOf } from '../../src/cluster/shards.ts';
import { startNode } from './support.ts';
import type { DoppelNode } from './support.ts';

let nats: NatsCluster;
let nodes: Array<DoppelNode & { stop(): Promise<void> }> = [];

beforeAll(async () => {
  nats = await startNats(3);
  // One after another: the first creates the stream and buckets with three replicas.
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats, id, 3));
  await eventually(async () => {
    const res = await nodes[0]!.call('GET', '/v1/cluster');
    const view = await res.json() as { nodes: Array<{ alive: boolean }> };
    return view.nodes.filter((n) => n.alive).length === 3 ? true : undefined;
  }, 'three live nodes', 30_000);
  // Then until the shards are spread: every node holds some, and together all 32.
  await eventually(async () => {
    const held = await Promise.all(nodes.map((n) => sample(n, 'doppel_cluster_shards_held')));
    return held.every((h) => h! > 0) && held.reduce((a, b) => a! + b!, 0) === 32 ? true : undefined;
  }, 'the shards to be spread over the three nodes', 30_000);
}, 120_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await nats?.stop();
}, 60_000);

/** A metric sample from a node's `GET /metrics`. */
async function sample(node: DoppelNode, series: string): Promise<number | undefined> {
  const text = await (await node.call('GET', '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const json = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
};
const asServer = (node: DoppelNode) => ({ url: node.url }) as TestServer;
interface Twin { id: string; version: number; desired: Record<string, unknown> }

describe('three nodes, R3', () => {
  it('lists every node alive in GET /v1/cluster with the replica count', async () => {
    const view = await json<{ nodes: Array<{ id: string; url: string; alive: boolean; twinsOwned: number }>; replicas: number }>(await nodes[1]!.call('GET', '/v1/cluster'));
    expect(view.replicas).toBe(3);
    expect(view.nodes.map((n) => [n.id, n.alive])).toEqual([['a', true], ['b', true], ['c', true]]);
    expect(view.nodes.map((n) => n.url)).toEqual(nodes.map((n) => n.url));
  });

  it('serves a write made on one node from every other, whoever owns the twin', async () => {
    for (let i = 0; i < 6; i++) {
      const id = `spread-${i}`;
      await json(await nodes[i % 3]!.call('POST', '/v1/twins', { id, desired: { i } }), 201);
      await json(await nodes[(i + 1) % 3]!.call('PATCH', `/v1/twins/${id}`, { desired: { j: i } }));
      for (const node of nodes) expect(await json<Twin>(await node.call('GET', `/v1/twins/${id}`))).toMatchObject({ id, version: 2, desired: { i, j: i } });
    }
  });

  it('counts per node the twins owned, shards held, forwarded requests, lease changes and JetStream commit latency', async () => {
    let forwarded = 0;
    let shards = 0;
    for (const node of nodes) {
      forwarded += (await sample(node, 'doppel_cluster_forwarded_requests_total'))!;
      shards += (await sample(node, 'doppel_cluster_shards_held'))!;
      expect(await sample(node, 'doppel_cluster_lease_changes_total')).toBeGreaterThan(0);
      expect(await sample(node, 'doppel_cluster_twins_owned')).toBeGreaterThanOrEqual(0);
    }
    // The previous test read each twin on all three nodes: two of every three reads were forwarded.
    expect(forwarded).toBeGreaterThan(0);
    expect(shards).toBeLessThanOrEqual(32);
    const commits = await Promise.all(nodes.map((n) => sample(n, 'doppel_jetstream_commit_duration_seconds_count')));
    expect(commits.reduce((a, b) => a! + b!, 0)).toBeGreaterThan(0);
  });

  it('accepts a key created on one node on every node, and refuses it everywhere once revoked on another', async () => {
    const key = await json<{ id: string; token: string }>(await nodes[0]!.call('POST', '/v1/keys', { name: 'roaming', scopes: ['twins:read'] }), 201);
    const withKey = (node: DoppelNode) => fetch(`${node.url}/v1/twins?limit=1`, { headers: { authorization: `Bearer ${key.token}` } });
    // Each node verifies it once and caches it.
    for (const node of nodes) expect((await withKey(node)).status).toBe(200);
    expect((await nodes[2]!.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
    for (const node of nodes) {
      await eventually(async () => ((await withKey(node)).status === 401 ? true : undefined), `node ${node.id} to refuse the revoked key`, 10_000);
    }
  });

  it('lists on any node a write acknowledged on another', async () => {
    await json(await nodes[2]!.call('POST', '/v1/twins', { id: 'listed-1' }), 201);
    for (const node of nodes) {
      const list = await json<{ items: Array<{ id: string }> }>(await node.call('GET', '/v1/twins?prefix=listed-'));
      expect(list.items.map((t) => t.id)).toEqual(['listed-1']);
    }
  });

  it('delivers to a WebSocket subscriber on B every write made through C, in order, no gaps; since resumes on A', async () => {
    await json(await nodes[0]!.call('POST', '/v1/twins', { id: 'watched', desired: { n: 0 } }), 201);
    const onB = await connect(asServer(nodes[1]!));
    try {
      await onB.request({ op: 'subscribe', twins: ['watched'] });
      await onB.next((m) => m.op === 'snapshot');
      for (let n = 1; n <= 20; n++) await json(await nodes[2]!.call('PATCH', '/v1/twins/watched', { desired: { n } }));
      const changes = await onB.take(20, isChangeOf('watched'), 20_000);
      expect(changeVersions(changes, 'watched')).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    } finally {
      onB.close();
    }
    const onA = await connect(asServer(nodes[0]!));
    try {
      onA.send({ op: 'subscribe', ref: 'r', twins: ['watched'], since: { watched: 15 } });
      const replay = await onA.take(6, isChangeOf('watched'), 20_000);
      expect(changeVersions(replay, 'watched')).toEqual([16, 17, 18, 19, 20, 21]);
      await json(await nodes[1]!.call('PATCH', '/v1/twins/watched', { desired: { n: 21 } }));
      expect(changeVersions([await onA.next(isChangeOf('watched'), 20_000)], 'watched')).toEqual([22]);
    } finally {
      onA.close();
    }
  });
});

/** The node holding the lease of the twin's shard, read from the lease bucket. */
async function ownerOf(twin: string): Promise<string> {
  const nc = await natsConnect({ servers: nats.urls.filter((_, i) => nats.nodes[i]!.alive), timeout: 2_000 });
  try {
    const kv = await new Kvm(jetstream(nc)).open('dpl_doppel_leases');
    const entry = await kv.get(`s.${shardOf(twin)}`);
    return (JSON.parse(entry!.string()) as { holder: string }).holder;
  } finally {
    await nc.close();
  }
}

/** Writes per busy twin at most in the kill -9 test: its history (1,000 events) must hold them all. */
const MAX_WRITES = 800;

describe('failures', () => {
  it('serves the twins of a node killed with -9 from the others within 10 s, losing no acknowledged write', async () => {
    const twin = 'failover-1';
    await json(await nodes[0]!.call('POST', '/v1/twins', { id: twin, desired: { n: 0 } }), 201);
    const owner = await ownerOf(twin);
    const survivor = nodes.find((n) => n.id !== owner)!;
    for (let n = 1; n <= 10; n++) await json(await survivor.call('PATCH', `/v1/twins/${twin}`, { desired: { n } }));
    const dead = nodes.find((n) => n.id === owner)!;
    // Writers on the survivors keep patching other twins through the kill; what they get
    // acknowledged must all be in history afterwards, which must stay contiguous.
    const others = ['busy-1', 'busy-2', 'busy-3', 'busy-4'];
    for (const id of others) await json(await survivor.call('POST', '/v1/twins', { id }), 201);
    const acked = new Map<string, Map<number, number>>(others.map((id) => [id, new Map()]));
    let writing = true;
    // Paced and capped so a twin's history (retention: the last 1,000 events) keeps every write:
    // 800 writes at ≥ 20 ms apart outlast the failover window, however fast this machine is.
    const writers = others.map(async (id, w) => {
      for (let k = 0; writing && k < MAX_WRITES; k++) {
        const via = nodes.filter((n) => n !== dead)[w % 2]!;
        const res = await via.call('PATCH', `/v1/twins/${id}`, { desired: { k } }).catch(() => undefined);
        if (res?.status === 200) acked.get(id)!.set(((await res.json()) as Twin).version, k);
        else if (res !== undefined) expect([503]).toContain(res.status);
        await new Promise((r) => setTimeout(r, res?.status === 200 ? 20 : 50));
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await dead.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Poll with writes: some may answer 503 while the lease moves; the first success ends the wait.
    const acknowledged = await eventually(async () => {
      const res = await survivor.call('PATCH', `/v1/twins/${twin}`, { desired: { n: 11 } });
      if (res.status === 200) return ((await res.json()) as Twin).version;
      expect(res.status, await res.text()).toBe(503);
      return undefined;
    }, 'a survivor to serve the twin', 30_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000 + 5_000); // the contract's 10 s, plus slack for a loaded machine
    expect(acknowledged).toBe(12);
    for (const node of nodes.filter((n) => n !== dead)) {
      expect(await json<Twin>(await node.call('GET', `/v1/twins/${twin}`))).toMatchObject({ version: 12, desired: { n: 11 } });
      const history = await json<{ items: Array<{ version: number }> }>(await node.call('GET', `/v1/twins/${twin}/history`));
      expect(history.items.map((e) => e.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    }
    writing = false;
    await Promise.all(writers);
    for (const id of others) {
      const history = await json<{ items: Array<{ version: number; patch: { desired?: { k?: number } } }> }>(await survivor.call('GET', `/v1/twins/${id}/history?limit=1000`));
      expect(history.items.map((e) => e.version)).toEqual(Array.from({ length: history.items.length }, (_, i) => i + 1));
      for (const [version, k] of acked.get(id)!) expect(history.items[version - 1]!.patch.desired?.k, `${id} v${version}`).toBe(k);
      expect(acked.get(id)!.size).toBeGreaterThan(0);
    }
    nodes = nodes.filter((n) => n !== dead);
    await dead.stop();
    await eventually(async () => {
      const view = await json<{ nodes: Array<{ id: string; alive: boolean }> }>(await survivor.call('GET', '/v1/cluster'));
      return view.nodes.find((n) => n.id === owner)?.alive === false ? true : undefined;
    }, 'the dead node to show as not alive', 20_000);
  });

  it('answers writes with unavailable within seconds and /readyz 503 without a NATS quorum, then recovers', async () => {
    const node = nodes[0]!;
    await json(await node.call('POST', '/v1/twins', { id: 'quorum-1' }), 201);
    await nats.nodes[1]!.kill9();
    await nats.nodes[2]!.kill9();
    await eventually(async () => ((await node.call('GET', '/readyz')).status === 503 ? true : undefined), '/readyz to answer 503', 20_000);
    const res = await node.call('PATCH', '/v1/twins/quorum-1', { desired: { x: 1 } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    await nats.nodes[1]!.restart();
    await nats.nodes[2]!.restart();
    await eventually(async () => ((await node.call('GET', '/readyz')).status === 200 ? true : undefined), '/readyz to answer 200 again', 60_000);
    const version = await eventually(async () => {
      const r = await node.call('PATCH', '/v1/twins/quorum-1', { desired: { x: 2 } });
      return r.status === 200 ? ((await r.json()) as Twin).version : undefined;
    }, 'writes to succeed again', 60_000);
    const history = await json<{ items: Array<{ version: number }> }>(await node.call('GET', '/v1/twins/quorum-1/history'));
    expect(history.items.map((e) => e.version)).toEqual(Array.from({ length: version }, (_, i) => i + 1));
  }, 180_000);
});
