import { describe, it, expect } from 'vitest';
import type { TwinService } from '../../actors/index.ts';
import type { ChangeEvent, TwinState } from '../../src/twin/types.ts';
import type { Outbox } from './backlog.ts';
import { Feeds } from './feeds.ts';

const state: TwinState = {
  id: 'a', version: 3, desired: {}, reported: {}, delta: {}, tags: {}, metadata: { desired: {}, reported: {} },
  pendingSince: null, lastSeenAt: null, lastSeenVia: null, tokenId: null, createdAt: 't', updatedAt: 't',
};
const event: ChangeEvent = { twin: 'a', version: 4, at: 't', via: 'http', patch: {}, delta: {} };

describe('Feeds.send()', () => {
  it('turns each stream item into its frame, with the connection of a snapshot', () => {
    const sent: Record<string, unknown>[] = [];
    const outbox = { send: (frame: string) => { sent.push(JSON.parse(frame) as Record<string, unknown>); return true; } } as unknown as Outbox;
    const twins = { connection: () => ({ online: true, via: 'ws', lastSeenAt: 't' }) } as unknown as TwinService;
    const feeds = new Feeds(outbox, twins);
    feeds.send({ type: 'snapshot', state, resync: true });
    feeds.send({ type: 'change', event });
    feeds.send({ type: 'deleted', twin: 'a' });
    expect(sent.map((m) => m.op)).toEqual(['snapshot', 'change', 'deleted']);
    expect(sent[0]).toMatchObject({ resync: true, twin: { version: 3, connection: { online: true } } });
    expect(sent[1]).toMatchObject({ event: { version: 4 } });
  });
});
