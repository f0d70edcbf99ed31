/**
 * @module
 * The outbox entries a worker has settled (delivered or dropped), deleted in batched commits: up to
 * DELETE_BATCH at once, the first waiting DELETE_DELAY_MS for company. A failed commit is tried
 * again later; until an entry's deletion lands it may be delivered again after a restart (at least
 * once), never twice by the same worker (its seq stays known until then).
 */
import type { Logger } from '../log.ts';
import type { TwinStore } from '../store/types.ts';

const DELETE_BATCH = 512;
const DELETE_DELAY_MS = 10;
const RETRY_MS = 1000;

type DeleteOp = { type: 'deleteOutbox'; connector: string; seq: number };

export class OutboxDeletes {
  readonly #connector: string;
  readonly #store: TwinStore;
  readonly #logger: Logger;
  /** Told of the seqs whose deletion landed. */
  readonly #onDeleted: (seqs: number[]) => void;
  #queued: DeleteOp[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(connector: string, store: TwinStore, logger: Logger, onDeleted: (seqs: number[]) => void) {
    this.#connector = connector;
    this.#store = store;
    this.#logger = logger;
    this.#onDeleted = onDeleted;
  }

  add(seq: number): void {
    this.#queued.push({ type: 'deleteOutbox', connector: this.#connector, seq });
    if (this.#queued.length >= DELETE_BATCH) void this.#flush();
    else this.#timer ??= setTimeout(() => { void this.#flush(); }, DELETE_DELAY_MS);
  }

  /** Commits what is queued and waits for every commit in flight; no retries after this. */
  async close(): Promise<void> {
    await this.#flush();
    this.#closed = true;
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null; }
    await Promise.allSettled([...this.#inFlight]);
  }

  #flush(): Promise<void> {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null; }
    const ops = this.#queued;
    if (ops.length === 0) return Promise.resolve();
    this.#queued = [];
    const commit: Promise<void> = this.#store.commit(ops).then(
      () => { this.#onDeleted(ops.map((op) => op.seq)); },
      (err: unknown) => {
        this.#logger.warn('connector could not remove acknowledged events', { connector: this.#connector, err });
        if (this.#closed) return;
        this.#queued = [...ops, ...this.#queued];
        this.#timer ??= setTimeout(() => { void this.#flush(); }, RETRY_MS);
      },
    ).finally(() => { this.#inFlight.delete(commit); });
    this.#inFlight.add(commit);
    return commit;
  }
}
