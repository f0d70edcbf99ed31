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
  // MurmurHash3's finalizer: FNV alone barely mixes its last bytes, so ids differing only
  // there (n1, n2, n3) would always rank in the same order and one node would win every shard.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export const shardOf = (twin: string): number => fnv1a(twin) % SHARDS;

/** The node that should hold `shard` among `nodes` (highest rendezvous weight; ties by id). */
export function preferredNode(nodes: readonly string[], shard: number): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = fnv1a(`${shard}#${node}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) { best = node; bestWeight = weight; }
  }
  return best;
}
