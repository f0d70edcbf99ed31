/**
 * `GET /v1/cluster` (admin token only, cluster mode): the nodes the cluster has seen, whether each
 * is alive (heartbeat within its expiry), how many twins each owns, and the replica count.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { DoppelError } from '../../../src/errors.ts';
import type { ClusterView } from '../../../src/cluster/index.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { problems } from './problems.ts';

const ClusterState = z.object({
  nodes: z.array(z.object({ id: z.string(), url: z.string().optional(), alive: z.boolean(), twinsOwned: z.number().int() })),
  replicas: z.number().int(),
}).meta({ id: 'ClusterState' });

export function clusterRoutes(app: Hono<Env>, table: RouteTable, deps: { cluster: { view(): Promise<ClusterView> } }): void {
  register(app, table, {
    method: 'get', path: '/v1/cluster', tag: 'Operations', auth: 'bearer', summary: 'Cluster nodes (admin, cluster mode)',
    description: 'The nodes of the cluster: id, URL, whether it is alive, twins it owns; and the replicas JetStream keeps of every record. Admin token only; exists only in cluster mode.',
    responses: { 200: { description: 'The cluster', schema: ClusterState }, ...problems(401, 403, 503) },
  }, async (c) => {
    if (c.get('principal').kind !== 'admin') throw new DoppelError('forbidden', 'Only the admin token may read the cluster state');
    const view = await deps.cluster.view().catch((err: unknown) => { throw new DoppelError('unavailable', `Cannot read the cluster state: ${err instanceof Error ? err.message : String(err)}`); });
    return c.json(view);
  });
}
