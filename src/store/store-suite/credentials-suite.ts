/**
 * @module
 * The store contract's credentials: each kind read, listed and deleted on its own.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { TwinStore } from '../types.ts';
import { apiKey, device, ids, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The credential tests, on the store of `subject`: getCredential(), listCredentials() and their ops. */
export function describeCredentialContract(subject: StoreUnderTest): void {
  describe('credentials', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('round-trips device and key credentials and lists them by kind', async () => {
      const creds = [device('d1', 'a'), device('d2', 'b'), apiKey('k1'), apiKey('k2')];
      await store.commit(creds.map((credential) => ({ type: 'putCredential', credential })));
      expect(await store.getCredential('key', 'k1')).toEqual(apiKey('k1'));
      expect(await store.getCredential('device', 'd2')).toEqual(device('d2', 'b'));
      expect(await store.getCredential('key', 'nope')).toBeUndefined();
      expect(await store.listCredentials('device')).toEqual([device('d1', 'a'), device('d2', 'b')]);
      expect(await store.listCredentials('key')).toEqual([apiKey('k1'), apiKey('k2')]);
    });

    it('keeps keys and device credentials apart: each kind is read, listed and deleted on its own', async () => {
      await store.commit([{ type: 'putCredential', credential: device('same', 'a') }, { type: 'putCredential', credential: apiKey('same') }]);
      expect(await store.getCredential('device', 'same')).toEqual(device('same', 'a'));
      expect(await store.getCredential('key', 'same')).toEqual(apiKey('same'));
      expect(await store.getCredential('key', 'd-only')).toBeUndefined();
      await store.commit([{ type: 'putCredential', credential: device('d-only', 'b') }]);
      expect(await store.getCredential('key', 'd-only')).toBeUndefined();
      await store.commit([{ type: 'deleteCredential', kind: 'device', id: 'same' }]);
      expect(await store.getCredential('device', 'same')).toBeUndefined();
      expect(await store.getCredential('key', 'same')).toEqual(apiKey('same'));
      expect(await store.listCredentials('key')).toEqual([apiKey('same')]);
      expect(await store.listCredentials('device')).toEqual([device('d-only', 'b')]);
    });

    it('deleteCredential removes one credential of its kind', async () => {
      await store.commit([{ type: 'putCredential', credential: device('d1', 'a') }, { type: 'putCredential', credential: device('d2', 'b') }]);
      await store.commit([{ type: 'deleteCredential', kind: 'key', id: 'd1' }]);
      expect(await store.getCredential('device', 'd1')).toEqual(device('d1', 'a'));
      await store.commit([{ type: 'deleteCredential', kind: 'device', id: 'd1' }]);
      expect(await store.getCredential('device', 'd1')).toBeUndefined();
      expect(await store.listCredentials('device')).toEqual([device('d2', 'b')]);
    });

    it('credentials do not show up as twins and twins not as credentials', async () => {
      await store.commit([
        { type: 'putCredential', credential: device('t!x', 'a') }, { type: 'putCredential', credential: apiKey('t!y') },
        { type: 'putTwin', twin: sampleTwin('c') }, { type: 'putTwin', twin: sampleTwin('k') }, { type: 'putTwin', twin: sampleTwin('d') },
      ]);
      expect(await ids(store, {})).toEqual(['c', 'd', 'k']);
      expect((await store.listCredentials('device')).map((c) => c.id)).toEqual(['t!x']);
      expect((await store.listCredentials('key')).map((c) => c.id)).toEqual(['t!y']);
    });

    it('lists ids with characters around the separator within their own kind', async () => {
      const awkward = ['!', '!!', '"', 'a!b', '\u00ff', '~', 'z'];
      await store.commit(awkward.flatMap((id) => [
        { type: 'putCredential', credential: device(id, 'a') } as const, { type: 'putCredential', credential: apiKey(`k${id}`) } as const,
      ]));
      expect((await store.listCredentials('device')).map((c) => c.id)).toEqual([...awkward].sort());
      expect((await store.listCredentials('key')).map((c) => c.id)).toEqual(awkward.map((id) => `k${id}`).sort());
    });

    it('refuses a credential op of an unknown kind as internal', async () => {
      await expect(store.commit([{ type: 'deleteCredential', kind: 'admin' as never, id: 'x' }])).rejects.toMatchObject({ code: 'internal' });
    });
  });
}
