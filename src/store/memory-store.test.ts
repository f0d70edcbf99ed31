import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.ts';
import { describeStoreContract, sampleTwin } from './store-suite.ts';

describeStoreContract('memory store', async () => ({ store: createMemoryStore(), cleanup: async () => undefined }));

describe('memory store', () => {
  it('commit() applies on a later microtask, never synchronously', async () => {
    const store = createMemoryStore();
    await store.open();
    let applied = false;
    const done = store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]).then(() => { applied = true; });
    expect(applied).toBe(false);
    await done;
    expect(applied).toBe(true);
    await store.close();
  });
});
