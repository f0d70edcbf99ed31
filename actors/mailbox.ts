/**
 * A serial mailbox: tasks run one at a time in arrival order, so two messages for one twin never
 * interleave and versions cannot race. A bounded queue refuses new work instead of growing
 * without limit when a twin is flooded.
 *
 * Every resident actor has one, and most are idle most of the time, so an idle mailbox is kept
 * small: no queue array (one exists only while tasks run), and the registry's two clock readings
 * live here as small integers instead of in an entry object of their own.
 */
import { DoppelError } from '../src/errors.ts';

type Task = () => Promise<void>;

export class Mailbox {
  /** Tasks not yet started, from `#head` on; null exactly while idle (nothing running or queued). */
  #queue: Task[] | null = null;
  #head = 0;
  readonly #maxPending: number;
  /** Registry bookkeeping (its clock): the last message posted through the registry. */
  lastUsed = 0;
  /** Registry bookkeeping (its clock): when the actor last moved to the MRU end (moving costs, so at most once a second). */
  movedAt = 0;

  constructor(maxPending = Number.POSITIVE_INFINITY) {
    this.#maxPending = maxPending;
  }

  /** Queued plus running tasks. */
  get depth(): number {
    // While the queue exists, one task is running (the drain loop holds it between tasks only synchronously).
    return this.#queue === null ? 0 : this.#queue.length - this.#head + 1;
  }

  get idle(): boolean {
    return this.#queue === null;
  }

  /** Runs `task` after every earlier one has settled; its result or error goes to the caller only. */
  post<T>(task: () => T | Promise<T>): Promise<T> {
    if (this.#queue !== null && this.#queue.length - this.#head >= this.#maxPending) {
      return Promise.reject(new DoppelError('unavailable', 'Twin is overloaded: too many pending requests', { retryAfter: 1 }));
    }
    return new Promise<T>((resolve, reject) => {
      const run = async () => {
        try { resolve(await task()); } catch (err) { reject(err); }
      };
      if (this.#queue !== null) this.#queue.push(run);
      else void Mailbox.#drain(this, run);
    });
  }

  /** Static, so instances carry no private-method brand (one word less per resident actor). */
  static async #drain(mailbox: Mailbox, first: Task): Promise<void> {
    mailbox.#queue = [];
    mailbox.#head = 0;
    await first();
    while (mailbox.#head < mailbox.#queue.length) {
      const task = mailbox.#queue[mailbox.#head]!;
      mailbox.#queue[mailbox.#head++] = undefined as unknown as Task; // let the closure be collected
      await task();
      if (mailbox.#head > 64 && mailbox.#head * 2 > mailbox.#queue.length) {
        mailbox.#queue = mailbox.#queue.slice(mailbox.#head);
        mailbox.#head = 0;
      }
    }
    mailbox.#queue = null;
    mailbox.#head = 0;
  }
}
