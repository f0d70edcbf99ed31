/**
 * What one connection has delivered, and the frames that deliver it. Every subscription of the
 * connection (by id or by prefix, possibly overlapping, each with its own snapshot, replay and
 * buffering phase) is a stream sharing this connection's `Positions`, so the client sees each
 * version of a twin once and in ascending order, whichever subscription got to it first; the
 * streams hand over only what is new, and `send` turns it into a frame.
 */
import { Positions } from '../../actors/index.ts';
import type { StreamItem, TwinService } from '../../actors/index.ts';
import type { Outbox } from './backlog.ts';
import { changeFrame, deletedFrame, snapshotFrame } from './frames.ts';

export class Feeds {
  /** twin id → the version the client has (sent, or named by the client in `since`). */
  readonly positions = new Positions();
  readonly #outbox: Outbox;
  readonly #twins: TwinService;

  constructor(outbox: Outbox, twins: TwinService) {
    this.#outbox = outbox;
    this.#twins = twins;
  }

  /** Sends an item a stream delivered (already checked against `positions`). */
  send(item: StreamItem): void {
    if (item.type === 'snapshot') this.#outbox.send(snapshotFrame(item.state, this.#twins.connection(item.state), item.resync));
    else if (item.type === 'change') this.#outbox.send(changeFrame(item.event));
    else this.#outbox.send(deletedFrame(item.twin));
  }
}
