import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryTimers } from './command-expiry.ts';
import type { Command } from '../src/twin/commands.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const cmd = (status: Command['status'], expiresInMs?: number): Command => ({
  id: String(expiresInMs), twin: 'a', name: 'n', payload: null, status, createdAt: '', updatedAt: '',
  ...(expiresInMs === undefined ? {} : { expiresAt: new Date(T0 + expiresInMs).toISOString() }),
});

describe('ExpiryTimers', () => {
  beforeEach(() => { vi.useFakeTimers({ now: T0 }); });
  afterEach(() => { vi.useRealTimers(); });

  it('wakes a twin at the soonest expiry of its open commands, only once', () => {
    const due: string[] = [];
    const timers = new ExpiryTimers((twin) => due.push(twin), () => Date.now());
    timers.schedule('a', [cmd('queued', 5000), cmd('delivered', 2000), cmd('succeeded', 1000), cmd('queued')]);
    vi.advanceTimersByTime(2000);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['a']);
    vi.advanceTimersByTime(10_000);
    expect(due).toEqual(['a']);
    expect(timers.size).toBe(0);
  });

  it('clears a twin\'s timer when nothing open expires, and stops for good', () => {
    const due: string[] = [];
    const timers = new ExpiryTimers((twin) => due.push(twin), () => Date.now());
    timers.schedule('a', [cmd('queued', 1000)]);
    timers.schedule('a', [cmd('cancelled', 1000)]);
    timers.schedule('b', [cmd('queued', 1000)]);
    timers.stop();
    timers.schedule('c', [cmd('queued', 1000)]);
    vi.advanceTimersByTime(5000);
    expect(due).toEqual([]);
    expect(timers.size).toBe(0);
  });

  it('reaches an expiry beyond setTimeout\'s range in steps', () => {
    const due: string[] = [];
    const timers = new ExpiryTimers((twin) => due.push(twin), () => Date.now());
    timers.schedule('a', [cmd('queued', 30 * 24 * 3600_000)]);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(due).toEqual(['a']);
  });
});
