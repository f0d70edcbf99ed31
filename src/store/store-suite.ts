/**
 * @module
 * The contract every `TwinStore` passes (the aedes-persistence "abstract" pattern): each
 * implementation's test file calls `describeStoreContract` with a factory for fresh stores. The
 * tests themselves sit by topic in `store-suite/`. Test-only: imports vitest.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeCommandContract } from './store-suite/commands-suite.ts';
import { describeCommitContract } from './store-suite/commit-suite.ts';
import { describeConnectorContract } from './store-suite/connectors-suite.ts';
import { describeCredentialContract } from './store-suite/credentials-suite.ts';
import { describeHistoryContract } from './store-suite/history-suite.ts';
import { describeJobContract } from './store-suite/jobs-suite.ts';
import { describeLifecycleContract } from './store-suite/lifecycle-suite.ts';
import { describeListingContract } from './store-suite/listing-suite.ts';
import { describePendingContract } from './store-suite/pending-suite.ts';
import type { StoreUnderTest } from './store-suite/samples-suite.ts';
import { describeTwinContract } from './store-suite/twins-suite.ts';
import type { TwinStore } from './types.ts';

export { sampleEvent, sampleTwin } from './store-suite/samples-suite.ts';

/** A fresh, unopened store and how to dispose of it once the suite has closed it. */
export type StoreFactory = () => Promise<{ store: TwinStore; cleanup: () => Promise<void> }>;

/** `commands: false` for a store without command records yet (`readCommands` is optional). */
export function describeStoreContract(name: string, makeStore: StoreFactory, opts: { commands?: boolean } = {}): void {
  describe(`${name} (TwinStore contract)`, () => {
    // Filled in before each test; the topics read the store from it in their own hooks.
    const subject = {} as StoreUnderTest;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store: subject.store, cleanup } = await makeStore());
      await subject.store.open();
    });

    afterEach(async () => {
      await subject.store.close().catch(() => undefined);
      await cleanup();
    });

    describeTwinContract(subject);
    describeListingContract(subject);
    describeHistoryContract(subject);
    describePendingContract(subject);
    describeCredentialContract(subject);
    describeCommitContract(subject);
    describeLifecycleContract(subject);
    if (opts.commands !== false) describeCommandContract(subject);
    describeConnectorContract(subject);
    describeJobContract(subject);
  });

  describe(`${name} before open()`, () => {
    it('refuses reads and commits with unavailable', async () => {
      const { store, cleanup } = await makeStore();
      try {
        await expect(store.getTwin('a')).rejects.toMatchObject({ code: 'unavailable', message: 'Store is not open' });
        await expect(store.commit([])).rejects.toMatchObject({ code: 'unavailable', message: 'Store is not open' });
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}
