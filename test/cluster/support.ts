/**
 * Several Doppel nodes (child processes, so one can be killed with -9) on one NATS cluster, for
 * the cluster tests. Every helper stops what it started.
 */
import { startChildServer, tempDir, ADMIN } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';

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
