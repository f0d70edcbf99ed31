// Listing connections asked of their owners, between two "nodes" (two queries, two connections)
// on a real nats-server, shards split between them by a fixed table: only ids another node holds
// are asked, only resident ones come back, and a node that is gone or a question that is not a
// Doppel node's leaves the stored connections standing.
import { describe, expect, it } from 'vitest';
import { natsForFile } from '../../test/support/nats-file.ts';
import { encodeValue } from '../store/codec.ts';
import type { Connection } from '../twin/types.ts';
import { ConnectionQuery } from './connection-query.ts';
import { shardOf } from './shards.ts';

const { open } = natsForFile();

/** Even shards on node a, odd ones on b; shard 31 has no holder (its lease lapsed). */
const holderOf = (shard: number): string | undefined => (shard === 31 ? undefined : shard % 2 === 0 ? 'a' : 'b');
const leasesOf = (self: string) => ({ holds: (shard: number) => holderOf(shard) === self, holderOf });
const ids = Array.from({ length: 200 }, (_, i) => `t-${i}`);
const onB = ids.filter((id) => holderOf(shardOf(id)) === 'b');
const online: Connection = { online: true, via: 'ws', lastSeenAt: '2026-01-01T00:00:00.000Z' };

describe('ConnectionQuery', () => {
  it('asks only the holders of the other shards, and returns the connections of their resident twins', async () => {
    const a = new ConnectionQuery(await open(), leasesOf('a'), 'conntest');
    const b = new ConnectionQuery(await open(), leasesOf('b'), 'conntest');
    const asked: string[] = [];
    const resident = new Set(onB.slice(0, 5));
    b.serve('b', (question) => { asked.push(...question); return question.filter((id) => resident.has(id)).map((id) => [id, online]); });
    try {
      const answer = await a.ask(ids);
      expect([...answer.keys()].sort()).toEqual([...resident].sort());
      expect(answer.get(onB[0]!)).toEqual(online);
      expect(asked.sort()).toEqual([...onB].sort()); // none of a's, none of the holderless shard's
      expect(ids.some((id) => holderOf(shardOf(id)) === undefined)).toBe(true);
    } finally {
      a.stop();
      b.stop();
    }
  });

  it('answers nothing for a twin whose shard the asked node does not hold (the lease moved)', async () => {
    const a = new ConnectionQuery(await open(), leasesOf('a'), 'conntest2');
    const b = new ConnectionQuery(await open(), { holds: () => false, holderOf }, 'conntest2');
    const asked: string[] = [];
    b.serve('b', (question) => { asked.push(...question); return question.map((id) => [id, online]); });
    try {
      expect((await a.ask(ids)).size).toBe(0);
      expect(asked).toEqual([]);
    } finally {
      a.stop();
      b.stop();
    }
  });

  it('leaves the stored connections standing when the holder is gone, and ignores a malformed question', async () => {
    const a = new ConnectionQuery(await open(), leasesOf('a'), 'conntest3');
    expect((await a.ask(ids)).size).toBe(0); // no node b: no responders, at once

    const b = new ConnectionQuery(await open(), leasesOf('b'), 'conntest3');
    b.serve('b', (question) => question.map((id) => [id, online]));
    const outsider = await open();
    try {
      await expect(outsider.request('dpl.conntest3.conn.b', encodeValue(['bad id!']), { timeout: 500 })).rejects.toThrow();
      await expect(outsider.request('dpl.conntest3.conn.b', new Uint8Array([0xff]), { timeout: 500 })).rejects.toThrow();
      expect((await a.ask(onB.slice(0, 3))).size).toBe(3); // and still answers Doppel nodes
    } finally {
      a.stop();
      b.stop();
    }
  });
});
