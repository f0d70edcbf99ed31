/**
 * @module
 * The JetStream `TwinStore` (cluster mode): twins, history and the pending index in one stream of
 * per-twin records, credentials in a KV bucket. Not wired into the server yet.
 *
 * @example
 * ```ts
 * import { createJetStreamStore } from './store/jetstream/index.ts';
 * const store = createJetStreamStore({ servers: 'nats://127.0.0.1:4222', replicas: 3 });
 * await store.open();
 * ```
 */
export { createJetStreamStore, JetStreamStore } from './jetstream-store.ts';
export type { JetStreamStoreOptions } from './connection.ts';
export { RecordFollower } from './record-follower.ts';
export type { RecordHandler } from './record-follower.ts';
export { CredentialWatch } from './credential-watch.ts';
export type { TwinRecord } from './record.ts';
export type { Connected } from './connection.ts';
