/**
 * Watching the credentials bucket: every key put or deleted after `start`, by any node. Each
 * node's credential cache (src/auth/credentials.ts caches lookups, misses included) forgets the
 * ids it is told about, so a key created or revoked on one node takes effect on the others.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { credentialIdOfKvKey } from './names.ts';

const RESTART_PAUSE_MS = 500;

export class CredentialWatch {
  readonly #kv: KV;
  readonly #onChange: (id: string) => void;
  readonly #onError: (err: unknown) => void;
  #watch: QueuedIterator<KvWatchEntry> | null = null;
  #stopped = false;
  #revision = 0;

  constructor(kv: KV, onChange: (id: string) => void, onError: (err: unknown) => void) {
    this.#kv = kv;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  async start(): Promise<void> {
    this.#watch = await this.#kv.watch({ include: 'updates' });
    void this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        // After a failure, resume after the last revision seen: no change is missed.
        this.#watch ??= await this.#kv.watch(this.#revision === 0 ? { include: 'updates' } : { resumeFromRevision: this.#revision + 1 });
        for await (const entry of this.#watch) {
          this.#revision = Math.max(this.#revision, entry.revision);
          const id = credentialIdOfKvKey(entry.key);
          if (id !== undefined) this.#onChange(id);
        }
      } catch (err) {
        if (!this.#stopped) this.#onError(err);
      }
      this.#watch = null;
      if (!this.#stopped) await new Promise((r) => setTimeout(r, RESTART_PAUSE_MS));
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.stop();
    this.#watch = null;
  }
}
