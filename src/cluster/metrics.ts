/**
 * Per-node cluster metrics: twins owned (resident actors, which only run on their owner), shards
 * held, requests forwarded to other nodes, lease changes, and how long JetStream takes to
 * acknowledge a commit (R replicas: a quorum round trip).
 */
import type { MetricsRegistry } from '../metrics/index.ts';
import type { ClusterNode } from './cluster-node.ts';

/** Registers the metrics; returns the observer of one commit's duration in milliseconds. */
export function registerClusterMetrics(metrics: MetricsRegistry, cluster: ClusterNode, twins: { stats: { resident: number } }): (ms: number) => void {
  metrics.gauge({ name: 'doppel_cluster_twins_owned', help: 'Twins this node owns and holds in memory (their actors run here)', collect: () => twins.stats.resident });
  metrics.gauge({ name: 'doppel_cluster_shards_held', help: 'Shard leases this node holds', collect: () => cluster.stats.shardsHeld });
  metrics.counter({ name: 'doppel_cluster_forwarded_requests_total', help: 'Twin requests forwarded to the owning node', collect: () => cluster.stats.forwarded });
  metrics.counter({ name: 'doppel_cluster_lease_changes_total', help: 'Shard leases gained or lost by this node', collect: () => cluster.stats.leaseChanges });
  const commits = metrics.histogram({
    name: 'doppel_jetstream_commit_duration_seconds', help: 'Time from a commit to its JetStream acknowledgement (stored with the configured replicas)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
  });
  return (ms) => commits.observe(undefined, ms / 1000);
}
