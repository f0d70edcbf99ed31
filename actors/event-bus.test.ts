import { describe, expect, it, vi } from 'vitest';
import { planCreate } from '../src/twin/index.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { EventBus } from './event-bus.ts';
import type { TwinNotice } from './event-bus.ts';

const T0 = '2026-11-23T10:00:00.000Z';

function change(twin: string): TwinNotice {
  const { state, event } = planCreate(twin, { desired: { temp: 21 } }, { now: T0, via: 'http', limits: DEFAULT_LIMITS });
  return { type: 'change', event, state };
}

const deleted = (twin: string): TwinNotice => ({ type: 'deleted', twin });

describe('EventBus.subscribe()', () => {
  it('delivers a twin\'s notices only to that twin\'s listeners', () => {
    const bus = new EventBus();
    const a = vi.fn();
    const b = vi.fn();
    bus.subscribe('a', a);
    bus.subscribe('b', b);
    const na = change('a');
    bus.publish(na);
    bus.publish(deleted('a'));
    expect(a.mock.calls).toEqual([[na], [deleted('a')]]);
    expect(b).not.toHaveBeenCalled();
  });

  it('delivers to every listener of a twin in subscription order', () => {
    const bus = new EventBus();
    const order: string[] = [];
    bus.subscribe('a', () => order.push('first'));
    bus.subscribe('a', () => order.push('second'));
    bus.publish(change('a'));
    expect(order).toEqual(['first', 'second']);
    expect(bus.listenerCount('a')).toBe(2);
  });

  it('does not match twin ids by prefix', () => {
    const bus = new EventBus();
    const listener = vi.fn();
    bus.subscribe('a', listener);
    bus.publish(change('ab'));
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('EventBus.subscribePrefix()', () => {
  it('delivers notices of every twin whose id starts with the prefix', () => {
    const bus = new EventBus();
    const listener = vi.fn();
    bus.subscribePrefix('site-a:', listener);
    const one = change('site-a:1');
    const two = change('site-a:2');
    bus.publish(one);
    bus.publish(change('site-b:1'));
    bus.publish(two);
    bus.publish(deleted('site-a:1'));
    expect(listener.mock.calls).toEqual([[one], [two], [deleted('site-a:1')]]);
  });

  it('with the empty prefix delivers every twin', () => {
    const bus = new EventBus();
    const listener = vi.fn();
    bus.subscribePrefix('', listener);
    bus.publish(change('x'));
    bus.publish(deleted('y'));
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('delivers to per-twin and prefix listeners alike', () => {
    const bus = new EventBus();
    const order: string[] = [];
    bus.subscribePrefix('si', () => order.push('prefix si'));
    bus.subscribe('site-a:1', () => order.push('twin'));
    bus.subscribePrefix('site-', () => order.push('prefix site-'));
    bus.publish(change('site-a:1'));
    expect(order.sort()).toEqual(['prefix si', 'prefix site-', 'twin']);
  });
});

describe('EventBus listener errors', () => {
  it('a throwing listener does not stop the others and is reported', () => {
    const reported: unknown[] = [];
    const bus = new EventBus((err) => reported.push(err));
    const boom = new Error('listener failed');
    const before = vi.fn();
    const after = vi.fn();
    const prefix = vi.fn();
    bus.subscribe('a', before);
    bus.subscribe('a', () => { throw boom; });
    bus.subscribe('a', after);
    bus.subscribePrefix('', () => { throw boom; });
    bus.subscribePrefix('a', prefix);
    expect(() => bus.publish(change('a'))).not.toThrow();
    expect(before).toHaveBeenCalledTimes(1);
    expect(after).toHaveBeenCalledTimes(1);
    expect(prefix).toHaveBeenCalledTimes(1);
    expect(reported).toEqual([boom, boom]);
  });

  it('swallows listener errors when no reporter is given', () => {
    const bus = new EventBus();
    const after = vi.fn();
    bus.subscribe('a', () => { throw new Error('x'); });
    bus.subscribe('a', after);
    expect(() => bus.publish(deleted('a'))).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
  });
});

describe('EventBus unsubscribe', () => {
  it('stops delivery to that listener only', () => {
    const bus = new EventBus();
    const gone = vi.fn();
    const stays = vi.fn();
    const off = bus.subscribe('a', gone);
    bus.subscribe('a', stays);
    off();
    bus.publish(change('a'));
    expect(gone).not.toHaveBeenCalled();
    expect(stays).toHaveBeenCalledTimes(1);
    expect(bus.listenerCount('a')).toBe(1);
  });

  it('drops the twin\'s entry when its last listener leaves, and may be called twice', () => {
    const bus = new EventBus();
    const off = bus.subscribe('a', vi.fn());
    expect(bus.listenerCount('a')).toBe(1);
    off();
    off();
    expect(bus.listenerCount('a')).toBe(0);
    const later = vi.fn();
    bus.subscribe('a', later);
    off(); // a stale unsubscribe must not remove the new listener
    bus.publish(change('a'));
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('stops prefix delivery', () => {
    const bus = new EventBus();
    const listener = vi.fn();
    const off = bus.subscribePrefix('a', listener);
    off();
    bus.publish(change('a1'));
    expect(listener).not.toHaveBeenCalled();
  });

  it('lets a listener unsubscribe itself during delivery without disturbing the others', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const off = bus.subscribe('a', () => { seen.push('once'); off(); });
    bus.subscribe('a', () => seen.push('always'));
    bus.publish(change('a'));
    bus.publish(change('a'));
    expect(seen).toEqual(['once', 'always', 'always']);
  });
});
