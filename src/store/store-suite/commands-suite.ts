/**
 * @module
 * The store contract's command records: put, read back in creation order per twin, overwrite,
 * delete, and removal together with their twin. Test-only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../twin/commands.ts';
import type { TwinStore } from '../types.ts';
import { T0, sampleEvent, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

export function sampleCommand(twin: string, id: string, over: Partial<Command> = {}): Command {
  return { id, twin, name: 'reboot', payload: { delay: 1 }, status: 'queued', createdAt: T0, updatedAt: T0, ...over };
}

export function describeCommandContract(subject: StoreUnderTest): void {
  describe('commands', () => {
    let store: TwinStore;
    let read: (id: string) => Promise<Command[]>;
    beforeEach(() => {
      store = subject.store;
      read = (id) => store.readCommands!(id);
    });

    it('reads a twin\'s commands back in id order, apart from a twin whose id extends it', async () => {
      await store.commit([
        { type: 'putCommand', command: sampleCommand('a', '0002') },
        { type: 'putCommand', command: sampleCommand('a', '0001', { payload: { nested: ['x', 1.5, null] } }) },
        { type: 'putCommand', command: sampleCommand('a.b', '0003') },
      ]);
      expect(await read('a')).toEqual([sampleCommand('a', '0001', { payload: { nested: ['x', 1.5, null] } }), sampleCommand('a', '0002')]);
      expect((await read('a.b')).map((c) => c.id)).toEqual(['0003']);
      expect(await read('zz')).toEqual([]);
      expect((await store.commandTwins!()).sort()).toEqual(['a', 'a.b']);
    });

    it('overwrites a command in place and deletes one alone', async () => {
      await store.commit([{ type: 'putCommand', command: sampleCommand('a', '1') }, { type: 'putCommand', command: sampleCommand('a', '2') }]);
      await store.commit([{ type: 'putCommand', command: sampleCommand('a', '1', { status: 'succeeded', result: { ok: true } }) }, { type: 'deleteCommand', twin: 'a', id: '2' }]);
      expect(await read('a')).toEqual([sampleCommand('a', '1', { status: 'succeeded', result: { ok: true } })]);
    });

    it('deleteTwinOps also deletes the twin\'s commands, and only its own', async () => {
      await store.commit([
        { type: 'putTwin', twin: sampleTwin('a') }, { type: 'putEvent', event: sampleEvent('a', 1) },
        { type: 'putCommand', command: sampleCommand('a', '1') }, { type: 'putCommand', command: sampleCommand('ab', '2') },
      ]);
      await store.commit(await store.deleteTwinOps('a'));
      expect(await read('a')).toEqual([]);
      expect(await read('ab')).toHaveLength(1);
    });

    it('refuses a command id or twin id that would break the key layout, writing nothing of the commit', async () => {
      await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('a') }, { type: 'putCommand', command: sampleCommand('a', 'x!y') }])).rejects.toMatchObject({ code: 'internal' });
      await expect(store.commit([{ type: 'putCommand', command: sampleCommand('a!b', '1') }])).rejects.toMatchObject({ code: 'internal' });
      expect(await store.getTwin('a')).toBeUndefined();
    });
  });
}
