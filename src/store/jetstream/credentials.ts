/**
 * Credentials (API keys, device tokens) in a JetStream KV bucket: one key per credential, kind
 * first, so each kind is listed on its own. Every node reads the same bucket, so a key or token
 * works on every node. Values are the stored records in CBOR, as in the LevelDB store.
 */
import type { KV } from '@nats-io/kv';
import { decodeValue, encodeValue } from '../codec.ts';
import type { CredentialOf, StoredCredential } from '../types.ts';
import { unavailable } from './connection.ts';
import { listKeys } from './kv-keys.ts';
import { credentialKvFilter, credentialKvKey } from './names.ts';

export class CredentialBucket {
  readonly #kv: KV;
  readonly #timeoutMs: number;

  constructor(kv: KV, timeoutMs: number) {
    this.#kv = kv;
    this.#timeoutMs = timeoutMs;
  }

  async get<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined> {
    const entry = await this.#kv.get(credentialKvKey(kind, id)).catch((err: unknown) => { throw unavailable('cannot read a credential', err); });
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return decodeValue<CredentialOf<K>>(entry.value);
  }

  /** Every credential of `kind`, in id order (code-unit order, as the LevelDB store lists them). */
  async list<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]> {
    const keys = await listKeys(this.#kv, credentialKvFilter(kind), this.#timeoutMs);
    try {
      const found: CredentialOf<K>[] = [];
      await Promise.all(keys.map(async (key) => {
        const entry = await this.#kv.get(key);
        if (entry !== null && entry.operation === 'PUT') found.push(decodeValue<CredentialOf<K>>(entry.value));
      }));
      return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    } catch (err) {
      throw unavailable('cannot list credentials', err);
    }
  }

  async put(credential: StoredCredential): Promise<number> {
    const bytes = encodeValue(credential);
    await this.#kv.put(credentialKvKey(credential.kind, credential.id), bytes).catch((err: unknown) => { throw unavailable('cannot store a credential', err); });
    return bytes.length;
  }

  async delete(kind: StoredCredential['kind'], id: string): Promise<void> {
    await this.#kv.delete(credentialKvKey(kind, id)).catch((err: unknown) => { throw unavailable('cannot delete a credential', err); });
  }
}
