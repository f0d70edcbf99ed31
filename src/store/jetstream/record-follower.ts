/**
 * Following the twin stream from "now": every record written after `start`, by any node, in
 * stream order (so each twin's records in version order). Cluster mode feeds each node's change
 * feed from it, so a subscriber on any node sees every change whichever node applied it.
 *
 * An ordered consumer recreates itself after a gap (a reconnect, a leader change) from the last
 * sequence it delivered, so nothing is skipped; if its iterator ends while following, a new one
 * starts after the last delivered sequence.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { decodeValue } from '../codec.ts';
import type { Connected } from './connection.ts';
import { twinIdOfSubject } from './names.ts';
import type { TwinRecord } from './record.ts';

export type RecordHandler = (twin: string, record: TwinRecord) => void;

const RESTART_PAUSE_MS = 500;

export class RecordFollower {
  readonly #c: Connected;
  readonly #onRecord: RecordHandler;
  readonly #onError: (err: unknown) => void;
  #messages: ConsumerMessages | null = null;
  #stopped = false;
  #last = 0;

  constructor(c: Connected, onRecord: RecordHandler, onError: (err: unknown) => void) {
    this.#c = c;
    this.#onRecord = onRecord;
    this.#onError = onError;
  }

  /** Starts following records written from now on (resolves once the consumer exists). */
  async start(): Promise<void> {
    await this.#open();
    void this.#loop();
  }

  async #open(): Promise<void> {
    const from = this.#last === 0 ? { deliver_policy: DeliverPolicy.New } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#last + 1 };
    const consumer = await this.#c.js.consumers.get(this.#c.names.stream, { filter_subjects: `${this.#c.names.twinSubjects}>`, ...from });
    this.#messages = await consumer.consume();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#messages === null) await this.#open();
        for await (const m of this.#messages!) {
          this.#last = m.seq;
          try {
            this.#onRecord(twinIdOfSubject(this.#c.names, m.subject), decodeValue<TwinRecord>(m.data));
          } catch (err) {
            this.#onError(err);
          }
        }
      } catch (err) {
        if (!this.#stopped) this.#onError(err);
      }
      this.#messages = null;
      if (!this.#stopped) await new Promise((r) => setTimeout(r, RESTART_PAUSE_MS));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => undefined);
    this.#messages = null;
  }
}
