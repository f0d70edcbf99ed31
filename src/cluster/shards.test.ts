import { describe, expect, it } from 'vitest';
import { preferredNode, shardOf, SHARDS } from './shards.ts';

describe('shards', () => {
  it('maps every id to one shard in range, the same on every call', () => {
    for (const id of ['a', 'dev-1', 'x.y:z_w', '']) {
      expect(shardOf(id)).toBe(shardOf(id));
      expect(shardOf(id)).toBeGreaterThanOrEqual(0);
      expect(shardOf(id)).toBeLessThan(SHARDS);
    }
  });

  it('spreads shards over nodes whose ids differ only in their last character', () => {
    for (const nodes of [['a', 'b', 'c'], ['n1', 'n2', 'n3'], ['doppel-1', 'doppel-2', 'doppel-3']]) {
      const held = new Map<string, number>();
      for (let s = 0; s < SHARDS; s++) { const n = preferredNode(nodes, s)!; held.set(n, (held.get(n) ?? 0) + 1); }
      for (const node of nodes) expect(held.get(node) ?? 0, `${node} of ${nodes.join(',')}`).toBeGreaterThanOrEqual(4);
    }
  });

  it('moves only the shards of a node that leaves', () => {
    const before = Array.from({ length: SHARDS }, (_, s) => preferredNode(['a', 'b', 'c'], s));
    const after = Array.from({ length: SHARDS }, (_, s) => preferredNode(['a', 'b'], s));
    for (let s = 0; s < SHARDS; s++) if (before[s] !== 'c') expect(after[s]).toBe(before[s]);
  });
});
