/**
 * @module
 * Cluster mode: several Doppel nodes over NATS JetStream (see the README, "Cluster mode").
 */
export { ClusterNode, NAMESPACE as CLUSTER_NAMESPACE } from './cluster-node.ts';
export type { ClusterView } from './cluster-node.ts';
export { ClusterFeed } from './cluster-feed.ts';
export { assertNatsAccess } from './net-access.ts';
export { registerClusterMetrics } from './metrics.ts';
export { inClusterMode } from './mode.ts';
