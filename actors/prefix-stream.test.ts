import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../src/store/memory-store.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import { openPrefixStream } from './prefix-stream.ts';
import { Positions } from './positions.ts';
import { StreamCloser } from './stream-closer.ts';
import { openTwinStream } from './stream.ts';
import type { StreamItem } from './stream.ts';
import { TwinService } from './twins.ts';
import type { WriteContext } from './twins.ts';

const HTTP: WriteContext = { via: 'http' };
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

async function setup() {
  const store = createMemoryStore();
  await store.open();
  const twins = new TwinService({
    store, credentials: { mintDeviceCredential: () => Promise.reject(new Error('not used')), forget: () => {} },
    limits: DEFAULT_LIMITS, historyRetention: 1000, livenessMs: 60_000, maxResident: 1000, idleMs: 300_000,
    maxPendingPerTwin: 100_000, now: () => new Date('2026-11-23T10:00:00.000Z'),
  });
  return { twins };
}

async function twinAt(twins: TwinService, id: string, version: number): Promise<void> {
  await twins.create(id, {}, HTTP);
  for (let v = 2; v <= version; v++) await twins.patch(id, { desired: { v } }, HTTP);
}

/** Per twin: `snapshot N`, `change N` or `deleted`, in delivery order. */
function perTwin(items: StreamItem[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const twin = item.type === 'snapshot' ? item.state.id : item.type === 'change' ? item.event.twin : item.twin;
    (out[twin] ??= []).push(item.type === 'snapshot' ? `snapshot ${item.state.version}` : item.type === 'change' ? `change ${item.event.version}` : 'deleted');
  }
  return out;
}

/** A twin's items cover versions from its first (a snapshot or `since` + 1) to `last`, once, in order. */
function expectGapless(lines: string[] | undefined, last: number, since?: number): void {
  expect(lines).toBeDefined();
  const versions = lines!.map((l) => Number(l.split(' ')[1]));
  const first = lines![0]!.startsWith('snapshot') ? versions[0]! : since! + 1;
  expect(lines!.slice(1).every((l) => l.startsWith('change'))).toBe(true);
  expect(versions).toEqual(range(first, last));
}

describe('openPrefixStream()', () => {
  it('lists a snapshot of each twin under the prefix, then follows changes, twins created later included', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'site-a:1', 2);
    await twinAt(twins, 'site-b:1', 1);
    const items: StreamItem[] = [];
    const close = await openPrefixStream(twins, 'site-a:', {}, (item) => items.push(item));
    await twins.patch('site-a:1', { desired: { x: 1 } }, HTTP);
    await twins.create('site-a:2', { desired: { y: 1 } }, HTTP);
    await twins.patch('site-b:1', { desired: { x: 1 } }, HTTP);
    await twins.remove('site-a:1');
    expect(perTwin(items)).toEqual({ 'site-a:1': ['snapshot 2', 'change 3', 'deleted'], 'site-a:2': ['snapshot 1'] });
    close();
  });

  it('resumes each twin named in `since`: nothing when current, the missed changes, or deleted when gone', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'p-1', 3);
    await twinAt(twins, 'p-2', 4);
    const items: StreamItem[] = [];
    const since = new Map([['p-1', 3], ['p-2', 1], ['p-gone', 7], ['q-elsewhere', 1]]);
    const close = await openPrefixStream(twins, 'p-', { since }, (item) => items.push(item));
    await twins.patch('p-1', { desired: { x: 1 } }, HTTP);
    expect(perTwin(items)).toEqual({ 'p-1': ['change 4'], 'p-2': ['change 2', 'change 3', 'change 4'], 'p-gone': ['deleted'] });
    close();
  });

  it('delivers every version of every twin once, in order, while the twins are written during the listing', async () => {
    const { twins } = await setup();
    const ids = range(1, 12).map((i) => `t-${String(i).padStart(2, '0')}`);
    for (const id of ids) await twins.create(id, {}, HTTP);
    const items: StreamItem[] = [];
    const writes: Array<Promise<unknown>> = ids.flatMap((id) => range(1, 10).map((i) => twins.patch(id, { desired: { i } }, HTTP)));
    const opening = openPrefixStream(twins, 't-', { pace: () => new Promise((resolve) => { setTimeout(resolve, 0); }) }, (item) => items.push(item));
    writes.push(...ids.flatMap((id) => range(11, 20).map((i) => twins.patch(id, { desired: { i } }, HTTP))));
    writes.push(twins.create('t-99', {}, HTTP).then(() => twins.patch('t-99', { desired: { late: true } }, HTTP)));
    await Promise.all(writes);
    const close = await opening;
    const lines = perTwin(items);
    for (const id of ids) expectGapless(lines[id], 21);
    expectGapless(lines['t-99'], 2);
    close();
  });

  it('shares positions with id streams of the same consumer, so overlaps never duplicate', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'o-1', 2);
    const positions = new Positions();
    const items: StreamItem[] = [];
    const byId = await openTwinStream(twins, 'o-1', { positions }, (item) => items.push(item));
    const byPrefix = await openPrefixStream(twins, 'o-', { positions }, (item) => items.push(item));
    await twins.patch('o-1', { desired: { x: 1 } }, HTTP);
    await twins.remove('o-1');
    expect(perTwin(items)).toEqual({ 'o-1': ['snapshot 2', 'change 3', 'deleted'] });
    byId();
    byPrefix();
  });

  it('stops listing and delivers nothing more once its closer closes', async () => {
    const { twins } = await setup();
    for (const i of range(1, 5)) await twins.create(`s-${i}`, {}, HTTP);
    const closer = new StreamCloser();
    const items: StreamItem[] = [];
    let paced = 0;
    await openPrefixStream(twins, 's-', {
      closer,
      pace: async () => { if (++paced === 3) closer.close(); },
    }, (item) => items.push(item));
    await twins.patch('s-1', { desired: { x: 1 } }, HTTP);
    expect(items.map((i) => (i.type === 'snapshot' ? i.state.id : i.type))).toEqual(['s-1', 's-2']);
  });

  it('calls onOverflow once when live changes outgrow the buffer during the listing', async () => {
    const { twins } = await setup();
    await twins.create('v-1', {}, HTTP);
    const onOverflow = vi.fn();
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const opening = openPrefixStream(twins, 'v-', { maxBuffered: 3, onOverflow, pace: () => held }, () => {});
    await Promise.all(range(1, 10).map((i) => twins.patch('v-1', { desired: { i } }, HTTP)));
    release();
    (await opening)();
    expect(onOverflow).toHaveBeenCalledTimes(1);
  });
});
