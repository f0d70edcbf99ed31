/**
 * The bounded send side of one connection. Sends never wait: fan-out runs inside the publishing
 * actor's turn, so one slow reader must not delay the twin or the other subscribers. Instead the
 * unsent backlog (`bufferedAmount`) is checked before every send, and a connection over the bound
 * is closed with 4008 `slow_consumer` (CONTRACT §7); the client resumes with `since`.
 */
import type { WsConnection } from '../../src/runtime/types.ts';

export const SLOW_CONSUMER = { code: 4008, reason: 'slow_consumer' } as const;

/** How often `room()` looks at the backlog again while it drains. */
const DRAIN_POLL_MS = 10;

export class Outbox {
  readonly #connection: WsConnection;
  readonly #maxBacklogBytes: number;
  readonly #onSlow: () => void;
  #closed = false;

  /** `onSlow` runs once when the connection is closed for its backlog. */
  constructor(connection: WsConnection, maxBacklogBytes: number, onSlow: () => void) {
    this.#connection = connection;
    this.#maxBacklogBytes = maxBacklogBytes;
    this.#onSlow = onSlow;
  }

  get closed(): boolean { return this.#closed; }

  /** Queues `frame` unless the connection is closed or over its backlog bound (then closes it). */
  send(frame: string): boolean {
    if (this.#closed) return false;
    if (this.#connection.bufferedAmount > this.#maxBacklogBytes) {
      this.slowConsumer();
      return false;
    }
    this.#connection.send(frame);
    return true;
  }

  /** Closes with 4008 `slow_consumer`. */
  slowConsumer(): void {
    if (this.#closed) return;
    this.close(SLOW_CONSUMER.code, SLOW_CONSUMER.reason);
    this.#onSlow();
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close(code, reason);
  }

  /** The peer went away: nothing more is sent. */
  markClosed(): void { this.#closed = true; }

  /**
   * Resolves once the backlog is at most half the bound (or the connection is closed). Bulk sends
   * that we pull ourselves (thousands of snapshots) await it, so a large initial load is paced by
   * the reader instead of tripping the slow-consumer bound. A reader that stops completely is
   * dropped by the heartbeat, which closes the connection and ends the wait.
   */
  async room(): Promise<void> {
    const limit = this.#maxBacklogBytes / 2;
    while (!this.#closed && this.#connection.bufferedAmount > limit) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }
}
