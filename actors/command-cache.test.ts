import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCredentials, createRateLimiter } from '../src/auth/index.ts';
import { DoppelError } from '../src/errors.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { TwinService } from './twins.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const IDLE_MS = 60_000;

/** The memory store, counting `readCommands` per twin and able to fail the next commit. */
function countingStore(inner: TwinStore) {
  const reads = new Map<string, number>();
  const failNext = { commit: false };
  const store = new Proxy(inner, {
    get(target, key) {
      if (key === 'readCommands') {
        return (id: string) => { reads.set(id, (reads.get(id) ?? 0) + 1); return target.readCommands!(id); };
      }
      if (key === 'commit') {
        return (ops: StoreOp[]) => {
          if (failNext.commit) { failNext.commit = false; return Promise.reject(new DoppelError('unavailable', 'Storage failure: disk full')); }
          return target.commit(ops);
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, reads: (id: string) => reads.get(id) ?? 0, failNext };
}

let inner: TwinStore;
let twins: TwinService;
let counted: ReturnType<typeof countingStore>;
let clock: number;
beforeEach(async () => {
  inner = createMemoryStore();
  await inner.open();
  counted = countingStore(inner);
  clock = T0;
  const credentials = await createCredentials({
    store: counted.store, adminToken: 'admin-token-0123456789', limiter: createRateLimiter(() => 0),
    limits: { device: { rate: 1e6, burst: 1e6 }, key: { rate: 1e6, burst: 1e6 } },
  });
  twins = new TwinService({
    store: counted.store, credentials, limits: DEFAULT_LIMITS, historyRetention: 1000, livenessMs: 60_000,
    maxResident: 1000, idleMs: IDLE_MS, maxPendingPerTwin: 10_000, now: () => new Date(clock),
  });
  await twins.create('a', {}, { via: 'http' });
});
afterEach(async () => {
  await twins.drain();
  await inner.close();
});

/** Every kind of step once: invoke, deliver, answer, cancel, list, get, the device's listing. */
async function everyStep(token = 'k'): Promise<string[]> {
  const c = twins.commands;
  const one = (await c.invoke('a', { name: 'one', ttlSeconds: 60 })).command;
  const two = (await c.invoke('a', { name: 'two', ttlSeconds: 60, clientToken: token })).command;
  await c.invoke('a', { name: 'two', ttlSeconds: 60, clientToken: token });
  await c.deliverOpen('a');
  await c.markDelivered('a', one.id);
  await c.answer('a', one.id, { status: 'succeeded', result: 1 });
  await c.cancel('a', two.id);
  await c.get('a', one.id);
  await c.listForDevice('a');
  await c.openOrdersIfAny('a');
  return [one.id, two.id];
}

describe('CommandService command cache', () => {
  it('reads a twin\'s commands from the store once per activation, not once per step', async () => {
    await everyStep('k1');
    await everyStep('k2');
    expect((await twins.commands.list('a')).map((c) => c.status)).toEqual(['cancelled', 'succeeded', 'cancelled', 'succeeded']);
    expect(counted.reads('a')).toBe(1);
  });

  it('drops the cache on passivation, and the next activation reloads what was committed', async () => {
    const [one, two] = await everyStep();
    const before = await twins.commands.list('a');
    clock += IDLE_MS + 1;
    expect(twins.sweep()).toBe(1);
    const after = await twins.commands.list('a');
    expect(counted.reads('a')).toBe(2);
    expect(after).toEqual(before);
    expect(after.map((c) => c.id)).toEqual([two, one]);
    // A fresh command after the reload lands in the reloaded copy, newest first.
    const three = (await twins.commands.invoke('a', { name: 'three', ttlSeconds: 60 })).command;
    expect((await twins.commands.list('a')).map((c) => c.id)).toEqual([three.id, two, one]);
    expect(counted.reads('a')).toBe(2);
  });

  it('reloads after the actor is dropped (another node owns the twin) and after a failed commit', async () => {
    const { command } = await twins.commands.invoke('a', { name: 'x', ttlSeconds: 60 });
    expect(twins.dropWhere((id) => id === 'a')).toBe(1);
    expect((await twins.commands.get('a', command.id)).status).toBe('queued');
    expect(counted.reads('a')).toBe(2);
    counted.failNext.commit = true;
    await expect(twins.commands.cancel('a', command.id)).rejects.toMatchObject({ code: 'unavailable' });
    expect((await twins.commands.get('a', command.id)).status).toBe('queued');
    expect(counted.reads('a')).toBe(3);
  });

  it('expires a held command once its expiresAt passes, though steps before it skip the scan', async () => {
    const { command } = await twins.commands.invoke('a', { name: 'x', ttlSeconds: 60 });
    clock += 59_999;
    expect((await twins.commands.get('a', command.id)).status).toBe('queued');
    clock += 1;
    expect((await twins.commands.get('a', command.id)).status).toBe('expired');
    expect((await inner.readCommands!('a'))[0]!.status).toBe('expired');
    expect(counted.reads('a')).toBe(1);
  });

  it('prunes ended commands past their retention from memory and the store', async () => {
    await everyStep();
    clock += 24 * 3600_000;
    expect(await twins.commands.list('a')).toEqual([]);
    expect(await inner.readCommands!('a')).toEqual([]);
    expect(counted.reads('a')).toBe(1);
  });

  it('forgets a deleted twin\'s commands even while a device session keeps its actor resident', async () => {
    const detach = await twins.attachDevice('a', 'ws');
    await twins.commands.invoke('a', { name: 'x', ttlSeconds: 60 });
    await twins.remove('a');
    await twins.create('a', {}, { via: 'http' });
    expect(await twins.commands.list('a')).toEqual([]);
    detach();
  });

  it('leaves no expiry timer behind a deleted twin with open commands, and nothing expires later', async () => {
    // Only the expiry timers use setTimeout here: the fake clock counts them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const heard: string[] = [];
      twins.commands.listenAll((c) => heard.push(`${c.twin}:${c.status}`));
      await twins.commands.invoke('a', { name: 'x', ttlSeconds: 1 });
      await twins.commands.invoke('a', { name: 'y', ttlSeconds: 5 });
      expect(vi.getTimerCount()).toBe(1);
      await twins.remove('a');
      expect(vi.getTimerCount()).toBe(0);
      // The same id again: a lingering timer would wake it; the new incarnation has no commands.
      await twins.create('a', {}, { via: 'http' });
      clock += 10_000;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(heard).toEqual(['a:queued', 'a:queued']);
      expect(await inner.readCommands!('a')).toEqual([]);
      expect(await twins.commands.openOrdersIfAny('a')).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
