import { describe, expect, it } from 'vitest';
import { CommandListeners } from './command-listeners.ts';
import type { Command } from '../src/twin/commands.ts';

const cmd = (twin: string): Command => ({ id: 'c1', twin, name: 'n', payload: null, status: 'queued', createdAt: '', updatedAt: '' });

describe('CommandListeners', () => {
  it('offers a change only to listeners of its twin or of a prefix of its id, each once', () => {
    const heard = new Map<string, string[]>();
    const listener = (name: string) => (c: Command) => { heard.set(name, [...heard.get(name) ?? [], c.twin]); };
    const l = new CommandListeners();
    l.listen('pump-1', listener('byId'));
    l.listenPrefix('pump-', listener('byPrefix'));
    l.listenPrefix('', listener('all'));
    l.listen('valve-1', listener('other'));
    // One session following pump-1 by id and by prefix: one listener under both keys.
    const both = listener('both');
    l.listen('pump-1', both);
    l.listenPrefix('pu', both);
    l.tell('pump-1', cmd('pump-1'));
    l.tell('pump-2', cmd('pump-2'));
    expect(Object.fromEntries(heard)).toEqual({ byId: ['pump-1'], byPrefix: ['pump-1', 'pump-2'], all: ['pump-1', 'pump-2'], both: ['pump-1', 'pump-2'] });
    expect(l.audience('pump-1')).toBe(4);
    expect(l.audience('valve-1')).toBe(2);
    expect(l.audience('tank-1')).toBe(1);
  });

  it('finds prefixes the same way whether there are fewer or more of them than the id is long', () => {
    const l = new CommandListeners();
    const removers = ['', 'a', 'ab', 'abc', 'x', 'xy', 'b'].map((p) => l.listenPrefix(p, () => {}));
    expect(l.audience('ab')).toBe(3); // 7 prefixes > "ab".length + 1: looked up by the id's prefixes
    expect(l.audience('abcdefghij')).toBe(4); // 7 prefixes < its length + 1: each prefix tested
    for (const remove of removers) remove();
    expect(l.audience('abc')).toBe(0);
  });

  it('a throwing listener does not keep the change from the others', () => {
    const l = new CommandListeners();
    const heard: string[] = [];
    l.listenPrefix('', () => { throw new Error('closed'); });
    l.listen('a', (c) => heard.push(c.twin));
    l.tell('a', cmd('a'));
    expect(heard).toEqual(['a']);
  });
});
