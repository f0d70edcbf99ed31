/**
 * @module
 * Persistence for twins, their change history and credentials. `createLevelStore` is the
 * production store (LevelDB, group commit); `createMemoryStore` keeps the same contract in
 * memory for unit tests.
 *
 * @example
 * ```ts
 * import { createLevelStore } from './store/index.ts';
 * const store = createLevelStore({ path: './data/db' });
 * await store.open();
 * for await (const twin of store.listTwins({ prefix: 'site-a:', limit: 100 })) console.log(twin.id);
 * await store.close();
 * ```
 */
export { createLevelStore } from './level-store.ts';
export type { LevelStoreTestHooks } from './level-store.ts';
export type { LevelStoreOptions } from './level-store.ts';
export { createMemoryStore } from './memory-store.ts';
export type { BatchStats, CredentialOf, Scope, StoreOp, StoredCredential, TwinStore } from './types.ts';
export { pendingCountChange, pendingIndexOps } from './pending-index.ts';
export { restoreStore } from './level-store.ts';
export { backupLines, readBackup } from './backup.ts';
export type { StoredRecord } from './backup.ts';
