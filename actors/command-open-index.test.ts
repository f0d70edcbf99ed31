import { describe, expect, it } from 'vitest';
import { OpenCommandIndex } from './command-open-index.ts';
import type { Command } from '../src/twin/commands.ts';

const cmd = (status: Command['status']): Command => ({ id: '1', twin: 'a', name: 'n', payload: null, status, createdAt: '', updatedAt: '' });

describe('OpenCommandIndex', () => {
  it('loads once from the store and follows what it is told', async () => {
    let loads = 0;
    const index = new OpenCommandIndex(async () => { loads++; return ['a', 'b']; });
    expect(await index.mayHaveOpen('a')).toBe(true);
    expect(await index.mayHaveOpen('c')).toBe(false);
    index.track('a', [cmd('succeeded')]);
    index.track('c', [cmd('succeeded'), cmd('delivered')]);
    expect(await index.mayHaveOpen('a')).toBe(false);
    expect(await index.mayHaveOpen('c')).toBe(true);
    expect(loads).toBe(1);
  });

  it('lays what it learned during the load over the scan, and retries a failed load', async () => {
    let release!: (ids: string[]) => void;
    let fail = true;
    const index = new OpenCommandIndex(() => {
      if (fail) { fail = false; return Promise.reject(new Error('disk')); }
      return new Promise((resolve) => { release = resolve; });
    });
    await expect(index.mayHaveOpen('a')).rejects.toThrow('disk');
    const pending = index.mayHaveOpen('new');
    index.track('new', [cmd('queued')]); // committed while the scan runs, not seen by it
    index.track('old', []); // its last command ended meanwhile
    release(['old']);
    expect(await pending).toBe(true);
    expect(await index.mayHaveOpen('old')).toBe(false);
  });
});

describe('OpenCommandIndex.knownNone', () => {
  it('answers only once loaded, and only for twins without open commands', async () => {
    let release!: (ids: string[]) => void;
    const index = new OpenCommandIndex(() => new Promise((resolve) => { release = resolve; }));
    index.preload();
    expect(index.knownNone('a')).toBe(false); // not loaded yet: "ask"
    release(['a']);
    await index.mayHaveOpen('a');
    expect(index.knownNone('a')).toBe(false);
    expect(index.knownNone('b')).toBe(true);
    index.track('b', [cmd('queued')]);
    expect(index.knownNone('b')).toBe(false);
    index.track('a', [cmd('expired')]);
    expect(index.knownNone('a')).toBe(true);
  });

  it('survives a preload that fails, then loads on the next question', async () => {
    let calls = 0;
    const index = new OpenCommandIndex(() => { calls++; if (calls === 1) throw new Error('not open'); return Promise.resolve([]); });
    index.preload();
    expect(index.knownNone('a')).toBe(false);
    expect(await index.mayHaveOpen('a')).toBe(false);
    expect(index.knownNone('a')).toBe(true);
    expect(calls).toBe(2);
  });
});
