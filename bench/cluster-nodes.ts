/**
 * Doppel cluster nodes as child processes for the cluster benchmark: start them on a NATS
 * cluster, wait until the 32 shards are spread over the live ones, find a twin's owner (the node
 * that answers it without forwarding), kill one with -9 and start it again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsCluster } from './nats-servers.ts';
import { BENCH_ADMIN, cpuSeconds, startDoppel } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface ClusterNode { id: string; dir: string; server: Started }

const auth = { authorization: `Bearer ${BENCH_ADMIN}` };

/** Polls `probe` until it returns a value other than undefined, or fails at the deadline. */
export async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One sample of `series` from a node's GET /metrics. */
export async function metric(node: ClusterNode, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.server.port}/metrics`, { headers: auth })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} on node ${node.id}`);
  return Number(line.slice(series.length + 1));
}

export async function startNode(nats: NatsCluster, id: string, replicas: number): Promise<ClusterNode> {
  const dir = await mkdtemp(join(tmpdir(), `doppel-bench-cluster-${id}-`));
  const server = await startDoppel('node', dir, ['--cluster', nats.urls.join(','), '--node-id', id, '--cluster-replicas', String(replicas)]);
  return { id, dir, server };
}

/** Waits until every node holds some of the 32 shards and together they hold all of them. */
export async function settled(nodes: readonly ClusterNode[]): Promise<void> {
  await poll(async () => {
    const held = await Promise.all(nodes.map((n) => metric(n, 'doppel_cluster_shards_held')));
    return held.every((h) => h > 0) && held.reduce((a, b) => a + b, 0) === 32 ? true : undefined;
  }, 'the shards to be spread over the nodes');
}

/** The node owning `twin`: a GET through it forwards nothing. */
export async function ownerOf(nodes: readonly ClusterNode[], twin: string): Promise<ClusterNode> {
  for (const node of nodes) {
    const before = await metric(node, 'doppel_cluster_forwarded_requests_total');
    const res = await fetch(`http://127.0.0.1:${node.server.port}/v1/twins/${twin}`, { headers: auth });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${twin} through ${node.id}: ${res.status}`);
    if (await metric(node, 'doppel_cluster_forwarded_requests_total') === before) return node;
  }
  throw new Error(`no node owns ${twin}`);
}

export async function kill9(node: ClusterNode): Promise<void> {
  const child = node.server.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export async function removeNode(node: ClusterNode): Promise<void> {
  await kill9(node);
  await rm(node.dir, { recursive: true, force: true });
}

/** Summed user+system CPU seconds of the given processes so far. */
export async function cpuOf(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await cpuSeconds(pid);
  return sum;
}
