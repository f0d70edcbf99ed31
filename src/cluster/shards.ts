/**
 * Twins are owned by shard: shard = FNV-1a(id) mod SHARDS, and each shard is leased to one node.
 * Which node should hold a shard is decided by rendezvous hashing over the live nodes (every node
 * computes the same answer from the same list), so a node joining or leaving moves only about
 * 1/N of the shards.
 */

/** Fixed for the life of a cluster: every node must agree on it. */
export const SHARDS = 32;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export const shardOf = (twin: string): number => fnv1a(twin) % SHARDS;

/** The node that should hold `shard` among `nodes` (highest rendezvous weight; ties by id). */
export function preferredNode(nodes: readonly string[], shard: number): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = fnv1a(`${node}#${shard}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) { best = node; bestWeight = weight; }
  }
  return best;
}
