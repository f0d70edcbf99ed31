/**
 * @module
 * Cluster mode: several Doppel nodes over NATS JetStream (see the README, "Cluster mode").
 */
export { ClusterNode } from './cluster-node.ts';
export type { ClusterView } from './cluster-node.ts';
export { ClusterFeed } from './cluster-feed.ts';
export { registerClusterMetrics } from './metrics.ts';
export { inClusterMode } from './mode.ts';
