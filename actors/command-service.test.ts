import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory-store.ts';
import type { TwinStore } from '../src/store/types.ts';
import { CommandService } from './command-service.ts';
import type { Serialize } from './command-service.ts';

/** One mailbox per twin, as the twin actor gives: each step runs after the previous one. */
function mailboxes(): Serialize {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(id: string, fn: () => Promise<T>) => {
    const run = (tails.get(id) ?? Promise.resolve()).then(fn, fn);
    tails.set(id, run.catch(() => undefined));
    return run;
  };
}

let store: TwinStore;
let clock: number;
let service: CommandService;
beforeEach(async () => {
  store = createMemoryStore();
  await store.open();
  clock = Date.parse('2026-12-01T10:00:00.000Z');
  service = new CommandService({ store, serialize: mailboxes(), now: () => new Date(clock), maxOpenPerTwin: 3 });
});
afterEach(async () => { await store.close(); });

describe('CommandService', () => {
  it('lets exactly one of many concurrent answers win', async () => {
    const { command } = await service.invoke('a', { name: 'x', ttlSeconds: 60 });
    const answers = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => service.answer('a', command.id, { status: i % 2 === 0 ? 'succeeded' : 'failed', result: i })));
    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const a of answers.filter((x) => x.status === 'rejected')) expect((a as PromiseRejectedResult).reason).toMatchObject({ code: 'command_ended' });
    expect((await service.get('a', command.id)).result).toBe(0);
  });

  it('stores expiry when read after expiresAt, and tells listeners', async () => {
    const seen: string[] = [];
    service.listen('a', (c) => seen.push(c.status));
    const { command } = await service.invoke('a', { name: 'x', ttlSeconds: 60 });
    clock += 60_000;
    expect((await service.get('a', command.id)).status).toBe('expired');
    expect((await store.readCommands!('a'))[0]!.status).toBe('expired');
    expect(seen).toEqual(['queued', 'expired']);
  });

  it('prunes ended commands a day after they end', async () => {
    const { command } = await service.invoke('a', { name: 'x', ttlSeconds: 60 });
    await service.cancel('a', command.id);
    clock += 24 * 3600_000 - 1;
    expect(await service.list('a')).toHaveLength(1);
    clock += 1;
    expect(await service.list('a')).toEqual([]);
    expect(await store.readCommands!('a')).toEqual([]);
  });

  it('bounds the open commands of a twin, and a repeated clientToken is not a new command', async () => {
    for (let i = 0; i < 3; i++) await service.invoke('a', { name: 'x', ttlSeconds: 60 });
    await expect(service.invoke('a', { name: 'x', ttlSeconds: 60 })).rejects.toMatchObject({ code: 'too_large' });
    const first = await service.invoke('b', { name: 'x', ttlSeconds: 60, clientToken: 'k' });
    const again = await service.invoke('b', { name: 'y', ttlSeconds: 60, clientToken: 'k' });
    expect(again).toEqual({ command: first.command, created: false });
  });

  it('refuses a direct command without a live session; with one, the sink gets it', async () => {
    await expect(service.invoke('a', { name: 'x' }, 5000)).rejects.toMatchObject({ code: 'device_offline' });
    expect(await service.list('a')).toEqual([]);
    const got: string[] = [];
    const detach = service.attachSink('a', (order) => got.push(order.name));
    await service.invoke('a', { name: 'x' }, 5000);
    detach();
    expect(got).toEqual(['x']);
    expect(await service.hasLiveSession('a')).toBe(false);
  });
});
