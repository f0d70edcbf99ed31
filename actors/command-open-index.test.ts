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
