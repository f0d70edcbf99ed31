/**
 * Fair dispatch of incoming datagrams: queued per source endpoint and handled round-robin, a
 * little at a time, so one device flooding the socket delays another device's request by a few
 * datagrams instead of by everything it has in flight. Reading the socket stays cheap (a push);
 * handling yields to the event loop every `budgetMs`, letting the next reads in to be queued
 * fairly. Bounded: beyond `maxPerSource` queued datagrams a source's newest are dropped (a
 * confirmable request is retransmitted by its client, RFC 7252 §4.2), beyond `maxTotal` any are.
 */
export interface FairQueueOptions { maxPerSource: number; maxTotal: number; budgetMs: number }

/**
 * The CoAP engines' bounds: a 1 ms budget keeps a flood from one device from queueing another's
 * request behind all of it.
 */
export const DATAGRAM_FAIRNESS: FairQueueOptions = { maxPerSource: 256, maxTotal: 20_000, budgetMs: 1 };

export class FairQueue<T> {
  readonly #queues = new Map<string, T[]>();
  readonly #handle: (item: T) => void;
  readonly #opts: FairQueueOptions;
  #size = 0;
  #scheduled = false;
  dropped = 0;

  constructor(handle: (item: T) => void, opts: FairQueueOptions) {
    this.#handle = handle;
    this.#opts = opts;
  }

  get size(): number { return this.#size; }

  /** Queues `item` from `source`; false when it was dropped for being over a bound. */
  push(source: string, item: T): boolean {
    let queue = this.#queues.get(source);
    if (this.#size >= this.#opts.maxTotal || (queue !== undefined && queue.length >= this.#opts.maxPerSource)) {
      this.dropped++;
      return false;
    }
    if (queue === undefined) this.#queues.set(source, (queue = []));
    queue.push(item);
    this.#size++;
    if (!this.#scheduled) { this.#scheduled = true; setImmediate(this.#drain); }
    return true;
  }

  /** Drops everything queued (shutdown). */
  clear(): void {
    this.#queues.clear();
    this.#size = 0;
  }

  readonly #drain = (): void => {
    const deadline = performance.now() + this.#opts.budgetMs;
    // One item per source per round, in the order sources became active.
    while (this.#size > 0) {
      for (const [source, queue] of this.#queues) {
        const item = queue.shift()!;
        this.#size--;
        if (queue.length === 0) this.#queues.delete(source);
        try { this.#handle(item); } catch { /* the handler reports its own failures */ }
      }
      if (performance.now() >= deadline) break;
    }
    this.#scheduled = this.#size > 0;
    if (this.#scheduled) setImmediate(this.#drain);
  };
}
