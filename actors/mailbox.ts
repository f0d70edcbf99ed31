/**
 * A serial mailbox: tasks run one at a time in arrival order, so two messages for one twin never
 * interleave and versions cannot race. A bounded queue refuses new work instead of growing
 * without limit when a twin is flooded.
 *
 * Every resident actor has one, and most are idle most of the time, so an idle mailbox is kept
 * small: no queue array (one exists only while tasks wait), and the registry's two clock readings
 * live here as small integers instead of in an entry object of their own.
 *
 * Every write passes through here, so a message costs as few promises and microtask turns as
 * possible: a task posted to an idle mailbox starts at once, its caller gets the task's own
 * promise back, and one reaction on it (registered first, so it runs before the caller's) ends
 * the message and starts the next. No promise wraps another.
 */
import { DoppelError } from '../src/errors.ts';

/** A task waiting its turn, and how to answer its caller once it has started. */
interface Queued {
  task: () => unknown;
  settled: (() => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** The queue of a running mailbox with nothing waiting: shared, so a lone message allocates no array. */
const NONE_WAITING: Queued[] = Object.freeze([]) as unknown as Queued[];

/** The refusal of a message to a full mailbox (a 503 with Retry-After at the edges). */
export function overloaded(): DoppelError {
  return new DoppelError('unavailable', 'Twin is overloaded: too many pending requests', { retryAfter: 1 });
}

export class Mailbox {
  /** Tasks not yet started, from `#head` on; null exactly while idle (nothing running or queued). */
  #queue: Queued[] | null = null;
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
    // While the queue exists, one task is running (between tasks, `#next` holds it only synchronously).
    return this.#queue === null ? 0 : this.#queue.length - this.#head + 1;
  }

  get idle(): boolean {
    return this.#queue === null;
  }

  /** Whether a task posted now would be refused (`maxPending` tasks already wait). */
  get full(): boolean {
    return this.#queue !== null && this.#queue.length - this.#head >= this.#maxPending;
  }

  /**
   * Runs `task` after every earlier one has settled; its result or error goes to the caller only.
   * `settled` runs once the task has settled, before its caller hears and before the next task
   * starts (still counted in `depth`); it must not throw.
   */
  post<T>(task: () => T | Promise<T>, settled?: () => void): Promise<T> {
    const queue = this.#queue;
    if (queue === null) {
      this.#queue = NONE_WAITING;
      return Mailbox.#start(this, task, settled);
    }
    if (queue.length - this.#head >= this.#maxPending) return Promise.reject(overloaded());
    return new Promise<T>((resolve, reject) => {
      const entry: Queued = { task, settled, resolve: resolve as (value: unknown) => void, reject };
      if (queue === NONE_WAITING) this.#queue = [entry];
      else queue.push(entry);
    });
  }

  /**
   * Starts `task`; returns its promise, on which the first reaction ends the message (and answers
   * `waiting`'s caller, for a task that was queued: settling that caller's promise with a value
   * costs no extra turn, where settling it with this promise would). Static: see `#next`.
   */
  static #start<T>(mailbox: Mailbox, task: () => T | Promise<T>, settled: (() => void) | undefined, waiting?: Queued): Promise<T> {
    let result: Promise<T>;
    try {
      const value = task();
      result = value instanceof Promise ? value : Promise.resolve(value);
    } catch (err) {
      result = Promise.reject(err);
    }
    // Both outcomes handled here, so a rejection reaches its caller without being reported unhandled.
    if (waiting === undefined) {
      const done = () => { settled?.(); Mailbox.#next(mailbox); };
      void result.then(done, done);
    } else {
      void result.then(
        (value) => { settled?.(); waiting.resolve(value); Mailbox.#next(mailbox); },
        (err: unknown) => { settled?.(); waiting.reject(err); Mailbox.#next(mailbox); },
      );
    }
    return result;
  }

  /** Static, so instances carry no private-method brand (one word less per resident actor). */
  static #next(mailbox: Mailbox): void {
    const queue = mailbox.#queue!;
    if (mailbox.#head >= queue.length) {
      mailbox.#queue = null;
      mailbox.#head = 0;
      return;
    }
    const entry = queue[mailbox.#head]!;
    queue[mailbox.#head++] = undefined as unknown as Queued; // let the closure be collected
    if (mailbox.#head > 64 && mailbox.#head * 2 > queue.length) {
      mailbox.#queue = queue.slice(mailbox.#head);
      mailbox.#head = 0;
    }
    Mailbox.#start(mailbox, entry.task, entry.settled, entry);
  }
}
