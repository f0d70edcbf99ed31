import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../src/errors.ts';
import { Mailbox } from './mailbox.ts';

/** A promise with its resolve function outside, to hold a task open. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Lets every queued microtask (and promise chain) run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('Mailbox.post()', () => {
  it('runs tasks strictly one at a time, in arrival order, even when they await', async () => {
    const mailbox = new Mailbox();
    const gates = Array.from({ length: 5 }, () => deferred());
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const done = gates.map((gate, i) => mailbox.post(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${i}`);
      await gate.promise;
      log.push(`end ${i}`);
      running--;
      return i;
    }));
    // Open the gates in reverse: a later task must still wait for every earlier one.
    for (const gate of [...gates].reverse()) gate.resolve();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning).toBe(1);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('does not start a task before the one ahead of it has settled', async () => {
    const mailbox = new Mailbox();
    const gate = deferred();
    let secondStarted = false;
    const first = mailbox.post(() => gate.promise);
    const second = mailbox.post(() => { secondStarted = true; });
    await settle();
    expect(secondStarted).toBe(false);
    gate.resolve();
    await Promise.all([first, second]);
    expect(secondStarted).toBe(true);
  });

  it('keeps order over many tasks with uneven awaits', async () => {
    const mailbox = new Mailbox();
    const order: number[] = [];
    const tasks = Array.from({ length: 300 }, (_, i) => mailbox.post(async () => {
      for (let k = 0; k < (i * 7) % 5; k++) await Promise.resolve();
      order.push(i);
    }));
    await Promise.all(tasks);
    expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('answers each caller with its own task\'s result, sync or async', async () => {
    const mailbox = new Mailbox();
    const a = mailbox.post(() => 'sync');
    const b = mailbox.post(async () => 'async');
    expect(await a).toBe('sync');
    expect(await b).toBe('async');
  });

  it('rejects only the caller of a task that throws, and the next task still runs', async () => {
    const mailbox = new Mailbox();
    const boom = new Error('boom');
    const results = await Promise.allSettled([
      mailbox.post(() => 1),
      mailbox.post(() => { throw boom; }),
      mailbox.post(async () => { await Promise.resolve(); throw boom; }),
      mailbox.post(() => 4),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 4 },
    ]);
    expect(await mailbox.post(() => 'still working')).toBe('still working');
    await settle();
    expect(mailbox.idle).toBe(true);
  });
});

describe('Mailbox depth and idle', () => {
  it('counts queued plus running tasks and is idle only when both are zero', async () => {
    const mailbox = new Mailbox();
    expect(mailbox.depth).toBe(0);
    expect(mailbox.idle).toBe(true);
    const gate = deferred();
    const first = mailbox.post(() => gate.promise);
    expect(mailbox.depth).toBe(1);
    expect(mailbox.idle).toBe(false);
    const rest = [mailbox.post(() => undefined), mailbox.post(() => undefined)];
    expect(mailbox.depth).toBe(3);
    gate.resolve();
    await Promise.all([first, ...rest]);
    await settle();
    expect(mailbox.depth).toBe(0);
    expect(mailbox.idle).toBe(true);
  });

  it('is idle again after a failing task', async () => {
    const mailbox = new Mailbox();
    await expect(mailbox.post(() => { throw new Error('x'); })).rejects.toThrow('x');
    await settle();
    expect(mailbox.idle).toBe(true);
    expect(mailbox.depth).toBe(0);
  });
});

describe('Mailbox maxPending', () => {
  it('refuses a task over the bound with code unavailable and never runs it', async () => {
    const mailbox = new Mailbox(2);
    const gate = deferred();
    const running = mailbox.post(() => gate.promise); // running, not pending
    const queued = [mailbox.post(() => 'a'), mailbox.post(() => 'b')];
    let refusedRan = false;
    const refused = mailbox.post(() => { refusedRan = true; });
    const err = await refused.then(() => null, (e: unknown) => e as DoppelError);
    expect(err?.code).toBe('unavailable');
    expect(err?.retryAfter).toBe(1);
    expect(mailbox.depth).toBe(3);
    gate.resolve();
    await running;
    expect(await Promise.all(queued)).toEqual(['a', 'b']);
    expect(refusedRan).toBe(false);
  });

  it('accepts work again once the queue has drained', async () => {
    const mailbox = new Mailbox(1);
    const gate = deferred();
    const first = mailbox.post(() => gate.promise);
    const second = mailbox.post(() => 2);
    await expect(mailbox.post(() => 3)).rejects.toMatchObject({ code: 'unavailable' });
    gate.resolve();
    await Promise.all([first, second]);
    expect(await mailbox.post(() => 4)).toBe(4);
  });

  it('survives a long run of tasks that compact its queue', async () => {
    const mailbox = new Mailbox(10_000);
    const gate = deferred();
    const head = mailbox.post(() => gate.promise);
    const all = Array.from({ length: 500 }, (_, i) => mailbox.post(() => i));
    expect(mailbox.depth).toBe(501);
    gate.resolve();
    await head;
    expect(await Promise.all(all)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await settle();
    expect(mailbox.depth).toBe(0);
  });
});

describe('Mailbox costs per message', () => {
  it('hands an idle mailbox\'s caller the task\'s own promise: no wrapper, no extra turn', async () => {
    const mailbox = new Mailbox();
    const own = Promise.resolve('mine');
    expect(mailbox.post(() => own)).toBe(own);
    await own;
    await settle();
    expect(mailbox.idle).toBe(true);
  });

  it('runs `settled` after its task, before the caller hears and before the next task starts', async () => {
    const mailbox = new Mailbox();
    const log: string[] = [];
    const gate = deferred();
    const first = mailbox.post(async () => { await gate.promise; log.push('task 1'); return 1; }, () => log.push(`settled 1, depth ${mailbox.depth}`));
    const second = mailbox.post(() => { log.push('task 2'); throw new Error('two'); }, () => log.push(`settled 2, depth ${mailbox.depth}`));
    void first.then(() => log.push('caller 1'));
    const failed = second.catch(() => log.push('caller 2'));
    gate.resolve();
    await failed;
    expect(log).toEqual(['task 1', 'settled 1, depth 2', 'task 2', 'caller 1', 'settled 2, depth 1', 'caller 2']);
  });

  it('says it is full exactly when a post would be refused', async () => {
    const mailbox = new Mailbox(1);
    const gate = deferred();
    const running = mailbox.post(() => gate.promise);
    expect(mailbox.full).toBe(false);
    const queued = mailbox.post(() => 'queued');
    expect(mailbox.full).toBe(true);
    await expect(mailbox.post(() => 'refused')).rejects.toMatchObject({ code: 'unavailable' });
    gate.resolve();
    await running;
    expect(await queued).toBe('queued');
    expect(mailbox.full).toBe(false);
  });
});
