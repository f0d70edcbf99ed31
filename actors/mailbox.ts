/**
 * A serial mailbox: tasks run one at a time in arrival order, so two messages for one twin never
 * interleave and versions cannot race. A bounded queue refuses new work instead of growing
 * without limit when a twin is flooded.
 */
import { DoppelError } from '../src/errors.ts';

type Task = () => Promise<void>;

export class Mailbox {
  #queue: Task[] = [];
  #head = 0;
  #running = false;
  readonly #maxPending: number;

  constructor(maxPending = Number.POSITIVE_INFINITY) {
    this.#maxPending = maxPending;
  }

  /** Queued plus running tasks. */
  get depth(): number {
    return this.#queue.length - this.#head + (this.#running ? 1 : 0);
  }

  get idle(): boolean {
    return !this.#running && this.#queue.length === this.#head;
  }

  /** Runs `task` after every earlier one has settled; its result or error goes to the caller only. */
  post<T>(task: () => T | Promise<T>): Promise<T> {
    if (this.#queue.length - this.#head >= this.#maxPending) {
      return Promise.reject(new DoppelError('unavailable', 'Twin is overloaded: too many pending requests', { retryAfter: 1 }));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(async () => {
        try { resolve(await task()); } catch (err) { reject(err); }
      });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#head < this.#queue.length) {
      const task = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Task; // let the closure be collected
      await task();
      if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#queue = [];
    this.#head = 0;
    this.#running = false;
  }
}
