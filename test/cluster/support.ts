/**
 * Several Doppel nodes (child processes, so one can be killed with -9) on one NATS cluster, for
 * the cluster tests. Every helper stops what it started.
 */
import { startChildServer, tempDir, ADMIN } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { expect } from 'vitest';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { shardOf } from '../../src/cluster/shards.ts';
import { eventually } from '../support/eventually.ts';

export interface DoppelNode {
  readonly id: string;
  child: ChildServer;
  url: string;
  call(method: string, path: string, body?: unknown): Promise<Response>;
}

export async function startNode(nats: NatsCluster, id: string, replicas: number, flags: string[] = []): Promise<DoppelNode & { stop(): Promise<void> }> {
  const dir = await tempDir('doppel-cluster-');
  const child = await startChildServer(dir.path, ['--cluster', nats.urls.join(','), '--node-id', id, '--cluster-replicas', String(replicas), ...flags]);
  const node = {
    id, child, url: child.url,
    call: (method: string, path: string, body?: unknown) => fetch(`${child.url}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    stop: async () => { await child.kill('SIGKILL'); await dir.remove(); },
  };
  return node;
}

/** Polls until every node holds some of the 32 shards and together all of them: owners then stay put. */
export async function waitForSpreadShards(nodes: readonly DoppelNode[], timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const held = await Promise.all(nodes.map(async (n) => {
      const text = await (await n.call('GET', '/metrics')).text();
      return Number(text.split('\n').find((l) => l.startsWith('doppel_cluster_shards_held '))?.split(' ')[1] ?? 0);
    }));
    return held.every((h) => h > 0) && held.reduce((a, b) => a + b, 0) === 32 ? true : undefined;
  }, 'the shards to be spread over the nodes', timeoutMs);
}

/** The id of the node holding the lease of the twin's shard, read from the lease bucket (live servers only). */
export async function leaseHolder(nats: NatsCluster, twin: string): Promise<string> {
  const nc = await natsConnect({ servers: nats.urls.filter((_, i) => nats.nodes[i]!.alive), timeout: 2_000 });
  try {
    const kv = await new Kvm(jetstream(nc)).open('dpl_doppel_leases');
    return (JSON.parse((await kv.get(`s.${shardOf(twin)}`))!.string()) as { holder: string }).holder;
  } finally {
    await nc.close();
  }
}

/** The JSON body of a response that must have `status` (the body is shown when it has not). */
export async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** Three Doppel nodes on a three-server NATS cluster (R3), their shards spread; `stop` ends all. */
export interface ThreeNodes {
  nats: NatsCluster;
  /** Live nodes; a test that kills one takes it out of this list. */
  nodes: Array<DoppelNode & { stop(): Promise<void> }>;
  /** The node holding the lease of the twin's shard. */
  ownerOf(twin: string): Promise<DoppelNode & { stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export async function startThreeNodes(flags: string[] = []): Promise<ThreeNodes> {
  const nats = await startNats(3);
  const nodes: ThreeNodes['nodes'] = [];
  for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats, id, 3, flags));
  await waitForSpreadShards(nodes); // owners then stay put while the tests run
  return {
    nats, nodes,
    ownerOf: async (twin) => {
      const holder = await leaseHolder(nats, twin);
      return nodes.find((n) => n.id === holder)!;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await nats.stop();
    },
  };
}
