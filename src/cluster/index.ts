/**
 * @module
 * Cluster mode: several Doppel nodes over NATS JetStream (see the README, "Cluster mode").
 */
import type { Config } from '../config.ts';

export { ClusterNode, NAMESPACE as CLUSTER_NAMESPACE } from './cluster-node.ts';
export type { ClusterView } from './cluster-node.ts';
export { ClusterFeed } from './cluster-feed.ts';
export { assertNatsAccess } from './net-access.ts';
export { registerClusterMetrics } from './metrics.ts';

/** True when the configuration asks for cluster mode (`--cluster` and `--node-id`). */
export function inClusterMode(config: Config): config is Config & { cluster: string; nodeId: string } {
  return config.cluster !== undefined && config.nodeId !== undefined;
}
