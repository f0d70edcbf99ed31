import { describe, expect, it, vi } from 'vitest';
import type { DoppelError } from '../src/errors.ts';
import { Mailbox } from './mailbox.ts';
import { ActorRegistry } from './registry.ts';
import type { Actor } from './registry.ts';

class FakeActor implements Actor {
  readonly mailbox = new Mailbox();
  pinned = false;
  empty = false;
  constructor(readonly id: string) {}
  canPassivate(): boolean { return !this.pinned; }
  vacant(): boolean { return this.empty; }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => { resolve = res; });
  return { promise, resolve };
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A registry over fake actors with a hand-driven clock (ms). */
function setup(opts: { maxResident?: number; idleMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const create = vi.fn((id: string) => new FakeActor(id));
  const registry = new ActorRegistry<FakeActor>({
    create, maxResident: opts.maxResident ?? 1000, idleMs: opts.idleMs ?? 60_000, now: () => clock.t,
  });
  const touch = (id: string) => registry.ask(id, (a) => a);
  /** Keeps `id`'s mailbox running until the returned function is called. */
  const hold = (id: string) => {
    const gate = deferred();
    const done = registry.ask(id, () => gate.promise);
    return async () => { gate.resolve(); await done; };
  };
  return { clock, create, registry, touch, hold };
}

const residentIds = (registry: ActorRegistry<FakeActor>) => [...registry.residents()].map((a) => a.id).sort();

describe('ActorRegistry activation', () => {
  it('activates an actor on its first ask and reuses it afterwards', async () => {
    const { registry, create, touch } = setup();
    expect(registry.peek('a')).toBeUndefined();
    const first = await touch('a');
    const second = await touch('a');
    expect(second).toBe(first);
    expect(create).toHaveBeenCalledTimes(1);
    expect(create).toHaveBeenCalledWith('a');
    expect(registry.peek('a')).toBe(first);
    expect(registry.size).toBe(1);
    expect(registry.activated).toBe(1);
  });

  it('hands the caller the message\'s own promise, after counting it and before the next message', async () => {
    const { registry } = setup();
    const own = Promise.resolve('mine');
    const asked = registry.ask('a', () => own);
    expect(asked).toBe(own); // no wrapper promise, no extra turn
    expect(registry.pending).toBe(1);
    expect(await asked).toBe('mine');
    expect(registry.pending).toBe(0);
  });

  it('gives concurrent first asks the same actor', async () => {
    const { registry, create } = setup();
    const actors = await Promise.all(Array.from({ length: 10 }, () => registry.ask('a', (x) => x)));
    expect(new Set(actors).size).toBe(1);
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('runs asks for one actor in its mailbox, one at a time', async () => {
    const { registry } = setup();
    const order: number[] = [];
    let running = 0;
    let maxRunning = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => registry.ask('a', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await Promise.resolve();
      order.push(i);
      running--;
    })));
    expect(maxRunning).toBe(1);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('peek() never activates', () => {
    const { registry, create } = setup();
    expect(registry.peek('a')).toBeUndefined();
    expect(create).not.toHaveBeenCalled();
    expect(registry.activated).toBe(0);
  });

  it('counts pending messages across actors', async () => {
    const { registry, hold } = setup();
    const releaseA = hold('a');
    const releaseB = hold('b');
    const queued = registry.ask('a', () => undefined);
    expect(registry.pending).toBe(3);
    await releaseA();
    await queued;
    await releaseB();
    expect(registry.pending).toBe(0);
  });
});

describe('ActorRegistry LRU cap', () => {
  it('evicts the least recently used idle actor when over maxResident', async () => {
    const { registry, clock, touch } = setup({ maxResident: 2 });
    await touch('a');
    clock.t += 2000;
    await touch('b');
    clock.t += 2000;
    await touch('a'); // a is now more recent than b
    clock.t += 2000;
    await touch('c');
    expect(residentIds(registry)).toEqual(['a', 'c']);
    expect(registry.passivated).toBe(1);
    expect(registry.activated).toBe(3);
  });

  it('evicts in least-recently-used order over several activations', async () => {
    const { registry, clock, touch } = setup({ maxResident: 3 });
    for (const id of ['a', 'b', 'c']) { await touch(id); clock.t += 2000; }
    await touch('a');
    clock.t += 2000;
    await touch('d'); // evicts b
    clock.t += 2000;
    await touch('e'); // evicts c
    expect(residentIds(registry)).toEqual(['a', 'd', 'e']);
    expect(registry.passivated).toBe(2);
  });

  it('never evicts an actor whose mailbox is running, even when it is the least recently used', async () => {
    const { registry, clock, touch, hold } = setup({ maxResident: 2 });
    const releaseA = hold('a');
    clock.t += 2000;
    await touch('b');
    clock.t += 2000;
    await touch('c');
    expect(residentIds(registry)).toEqual(['a', 'c']);
    await releaseA();
  });

  it('never evicts an actor that cannot passivate', async () => {
    const { registry, clock, touch } = setup({ maxResident: 2 });
    (await touch('a')).pinned = true;
    clock.t += 2000;
    await touch('b');
    clock.t += 2000;
    await touch('c');
    expect(residentIds(registry)).toEqual(['a', 'c']);
  });

  it('never evicts the actor it is activating, so one id never has two actors', async () => {
    // Over the cap with every other resident busy, the new actor is the only idle one in scan range.
    const { registry, create, clock, hold } = setup({ maxResident: 1 });
    const releaseA = hold('a');
    clock.t += 2000;
    const gate = deferred();
    const first = registry.ask('b', async (actor) => { await gate.promise; return actor; });
    const second = registry.ask('b', (actor) => actor);
    expect(registry.peek('b')).toBeDefined();
    gate.resolve();
    const [x, y] = await Promise.all([first, second]);
    expect(y).toBe(x);
    expect(create.mock.calls.filter(([id]) => id === 'b')).toHaveLength(1);
    await releaseA();
  });
});

describe('ActorRegistry.sweep()', () => {
  it('passivates only actors idle for longer than idleMs', async () => {
    const { registry, clock, touch } = setup({ idleMs: 1000 });
    await touch('a');
    clock.t += 600;
    await touch('b');
    clock.t += 399; // a idle 999 ms, b 399 ms
    expect(registry.sweep()).toBe(0);
    clock.t += 2; // a idle 1001 ms
    expect(registry.sweep()).toBe(1);
    expect(residentIds(registry)).toEqual(['b']);
    clock.t += 600; // b idle 1001 ms
    expect(registry.sweep()).toBe(1);
    expect(registry.size).toBe(0);
    expect(registry.passivated).toBe(2);
  });

  it('never passivates an actor whose mailbox is running, however old its last message', async () => {
    const { registry, clock, hold } = setup({ idleMs: 1000 });
    const release = hold('a');
    clock.t += 10_000;
    expect(registry.sweep()).toBe(0);
    expect(residentIds(registry)).toEqual(['a']);
    await release();
    await settle();
    expect(registry.sweep()).toBe(1);
  });

  it('never passivates an actor that cannot passivate', async () => {
    const { registry, clock, touch } = setup({ idleMs: 1000 });
    const actor = await touch('a');
    actor.pinned = true;
    clock.t += 10_000;
    expect(registry.sweep()).toBe(0);
    actor.pinned = false;
    expect(registry.sweep()).toBe(1);
  });

  it('use() never activates, and counts as use: a read keeps its actor from idle passivation', async () => {
    const { registry, clock, touch, create } = setup({ idleMs: 1000 });
    expect(registry.use('b')).toBeUndefined();
    const actor = await touch('a');
    clock.t += 900;
    expect(registry.use('a')).toBe(actor);
    clock.t += 900; // 1,800 ms after the ask, 900 after the read
    expect(registry.sweep()).toBe(0);
    clock.t += 200;
    expect(registry.sweep()).toBe(1);
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('activates a fresh actor on the next ask after passivation', async () => {
    const { registry, clock, touch } = setup({ idleMs: 1000 });
    const before = await touch('a');
    clock.t += 5000;
    registry.sweep();
    const after = await touch('a');
    expect(after).not.toBe(before);
    expect(registry.activated).toBe(2);
    expect(registry.passivated).toBe(1);
  });
});

describe('ActorRegistry clock', () => {
  const DAY = 86_400_000;

  it('keeps idle times and LRU order across weeks of uptime', async () => {
    const { registry, clock, touch } = setup({ maxResident: 2, idleMs: 1000 });
    await touch('a');
    clock.t += 2000;
    await touch('b');
    clock.t += 30 * DAY;
    await touch('a'); // a is now more recent than b
    clock.t += 2000;
    await touch('c'); // over the cap: evicts b, the least recently used
    expect(residentIds(registry)).toEqual(['a', 'c']);
    clock.t += 999;
    expect(registry.sweep()).toBe(1); // a idle 2999 ms, c 999 ms
    expect(residentIds(registry)).toEqual(['c']);
  });

  it('still passivates an actor idle for months, and none used just now, over many jumps', async () => {
    const { registry, clock, touch } = setup({ idleMs: 60_000 });
    await touch('old');
    for (let i = 0; i < 40; i++) {
      clock.t += 5 * DAY;
      await touch('busy');
      expect(registry.sweep()).toBe(i === 0 ? 1 : 0);
      expect(registry.peek('busy')).toBeDefined();
    }
    expect(residentIds(registry)).toEqual(['busy']);
    clock.t += 60_001;
    expect(registry.sweep()).toBe(1);
  });
});

describe('ActorRegistry vacant actors', () => {
  it('drops a vacant actor right after its message', async () => {
    const { registry, touch } = setup();
    await registry.ask('ghost', (a) => { a.empty = true; });
    expect(registry.peek('ghost')).toBeUndefined();
    expect(registry.passivated).toBe(1);
    await touch('ghost');
    expect(registry.activated).toBe(2);
  });

  it('drops a vacant actor even when its message failed', async () => {
    const { registry } = setup();
    await expect(registry.ask('ghost', (a) => { a.empty = true; throw new Error('not here'); })).rejects.toThrow('not here');
    expect(registry.peek('ghost')).toBeUndefined();
  });

  it('keeps a vacant actor while more messages are queued for it', async () => {
    const { registry } = setup();
    const gate = deferred();
    const first = registry.ask('ghost', async (a) => { a.empty = true; await gate.promise; return a; });
    const second = registry.ask('ghost', (a) => ({ a, resident: registry.peek('ghost') }));
    gate.resolve();
    const firstActor = await first;
    const { a, resident } = await second;
    expect(a).toBe(firstActor);
    expect(resident).toBe(firstActor); // still registered while its second message ran
  });

  it('keeps a vacant actor that cannot passivate', async () => {
    const { registry } = setup();
    await registry.ask('ghost', (a) => { a.empty = true; a.pinned = true; });
    await settle();
    expect(registry.peek('ghost')).toBeDefined();
    expect(registry.passivated).toBe(0);
  });
});

describe('ActorRegistry.drain()', () => {
  it('refuses new asks with unavailable and resolves after in-flight ones finish', async () => {
    const { registry, touch, hold } = setup();
    const release = hold('a');
    const queued = registry.ask('a', () => 'queued');
    let drained = false;
    const draining = registry.drain().then(() => { drained = true; });
    const err = await touch('b').then(() => null, (e: unknown) => e as DoppelError);
    expect(err?.code).toBe('unavailable');
    await settle();
    expect(drained).toBe(false);
    await release();
    expect(await queued).toBe('queued');
    await draining;
    expect(drained).toBe(true);
    expect(registry.pending).toBe(0);
    expect(registry.peek('b')).toBeUndefined();
  });

  it('resolves at once when nothing is in flight', async () => {
    const { registry, touch } = setup();
    await touch('a');
    await registry.drain();
    await expect(touch('a')).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('resolves every caller when called more than once while messages are in flight', async () => {
    const { registry, hold } = setup();
    const release = hold('a');
    const settled: string[] = [];
    const first = registry.drain().then(() => { settled.push('first'); });
    const second = registry.drain().then(() => { settled.push('second'); });
    await release();
    await settle();
    expect(settled.sort()).toEqual(['first', 'second']);
    await Promise.all([first, second]);
  });
});

describe('ActorRegistry LRU under pressure (review regressions)', () => {
  it('keeps evicting past pinned actors at the head, so the cap still holds', async () => {
    const pinned = new Set<string>();
    const reg = new ActorRegistry({
      create: (id: string) => ({ mailbox: new Mailbox(), canPassivate: () => !pinned.has(id), vacant: () => false }),
      maxResident: 100, idleMs: 60_000,
    });
    for (let i = 0; i < 32; i++) { pinned.add(`dev-${i}`); await reg.ask(`dev-${i}`, () => 1); }
    for (let i = 0; i < 5000; i++) await reg.ask(`t-${i}`, () => 1);
    expect(reg.size).toBeLessThanOrEqual(101);
    for (let i = 0; i < 32; i++) expect(reg.peek(`dev-${i}`)).toBeDefined();
  });

  it('never evicts a twin used twice a second in favour of ones used once', async () => {
    let now = 0;
    let created = 0;
    const reg = new ActorRegistry({
      create: (id: string) => { if (id === 'hot') created++; return { mailbox: new Mailbox(), canPassivate: () => true, vacant: () => false }; },
      maxResident: 10, idleMs: 1e9, now: () => now,
    });
    for (let i = 0; i < 200; i++) {
      now += 500;
      await reg.ask('hot', () => 1);
      await reg.ask(`cold-${i}`, () => 1);
    }
    expect(created).toBe(1);
  });

  it('release passivates an idle, unpinned actor at once, never a busy or pinned one', async () => {
    const { registry, touch, hold } = setup();
    await touch('idle');
    (await touch('pinned')).pinned = true;
    const release = hold('busy');
    for (const id of ['idle', 'pinned', 'busy', 'absent']) registry.release(id);
    expect(registry.peek('idle')).toBeUndefined();
    expect(registry.peek('pinned')).toBeDefined();
    expect(registry.peek('busy')).toBeDefined();
    expect(registry.passivated).toBe(1);
    await release();
  });
});
