import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/store/memory-store.ts';
import { planCreate } from '../src/twin/index.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { EventBus } from './event-bus.ts';
import { TwinActor } from './twin-actor.ts';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

async function actorFor(id: string) {
  const store = createMemoryStore();
  await store.open();
  const clock = { t: T0 };
  const actor = new TwinActor(id, {
    store, feed: new EventBus(), limits: DEFAULT_LIMITS, historyRetention: 10, livenessMs: 1000, maxPending: 100,
    now: () => new Date(clock.t),
  });
  return { actor, store, clock };
}

describe('TwinActor passivation hints', () => {
  it('cannot passivate while a device is attached, and can again after detach', async () => {
    const { actor } = await actorFor('a');
    expect(actor.canPassivate()).toBe(true);
    const detachA = actor.attachDevice('coap');
    const detachB = actor.attachDevice('ws');
    expect(actor.canPassivate()).toBe(false);
    detachA();
    expect(actor.canPassivate()).toBe(false);
    detachB();
    expect(actor.canPassivate()).toBe(true);
  });

  it('is vacant only once it has looked the twin up and found nothing', async () => {
    const { actor } = await actorFor('a');
    expect(actor.vacant()).toBe(false); // not loaded yet
    await expect(actor.get()).rejects.toMatchObject({ code: 'not_found' });
    expect(actor.vacant()).toBe(true);
    await actor.create({}, { via: 'http' });
    expect(actor.vacant()).toBe(false);
    await actor.remove();
    expect(actor.vacant()).toBe(true);
  });

  it('restores the persisted last contact when it loads the twin', async () => {
    const { actor, store, clock } = await actorFor('a');
    const seen = new Date(T0 - 500).toISOString();
    const { state } = planCreate('a', {}, { now: seen, via: 'http', limits: DEFAULT_LIMITS });
    await store.commit([{ type: 'putTwin', twin: { ...state, lastSeenAt: seen, lastSeenVia: 'coap' } }]);
    await actor.get();
    expect(actor.connection()).toEqual({ online: true, via: 'coap', lastSeenAt: seen });
    clock.t += 500;
    expect(actor.connection().online).toBe(false);
  });
});
