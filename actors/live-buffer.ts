/**
 * "Register, buffer, catch up, then replay": the one place it is written. A stream registers its
 * listener with the change feed *before* it reads what the consumer missed (a snapshot, history,
 * a listing), so no change can fall between the read and the live notices; the notices arriving
 * meanwhile wait here and pass through once the stream calls `flush()`. A change is committed
 * before it is published, so anything both read and buffered is an overlap, dropped by version
 * (`Positions`).
 */
import type { Listener, TwinNotice } from './change-feed.ts';

export class LiveBuffer {
  #held: TwinNotice[] | null = [];
  #overflowed = false;
  readonly #deliver: Listener;
  readonly #max: number;
  readonly #onOverflow: (() => void) | undefined;

  /** `onOverflow` is called once when more than `max` notices wait; later ones are dropped. */
  constructor(deliver: Listener, max: number, onOverflow?: () => void) {
    this.#deliver = deliver;
    this.#max = max;
    this.#onOverflow = onOverflow;
  }

  /** The listener to register with the feed. */
  readonly listener: Listener = (notice) => {
    if (this.#held === null) { this.#deliver(notice); return; }
    if (this.#held.length < this.#max) { this.#held.push(notice); return; }
    if (!this.#overflowed) { this.#overflowed = true; this.#onOverflow?.(); }
  };

  /** Delivers what waited, in arrival order, and from then on every notice as it comes. */
  flush(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const notice of held) this.#deliver(notice);
  }
}
