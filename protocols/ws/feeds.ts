/**
 * What one connection has delivered, per twin: the last version sent. Every subscription of the
 * connection (by id or by prefix, possibly overlapping, each with its own snapshot, replay and
 * buffering phase) delivers through here, so the client sees each version of a twin once and in
 * ascending order, whichever subscription got to it first.
 */
import type { TwinService } from '../../actors/index.ts';
import type { ChangeEvent, TwinState } from '../../src/twin/types.ts';
import type { Outbox } from './backlog.ts';
import { changeFrame, deletedFrame, snapshotFrame } from './frames.ts';

export class Feeds {
  /** twin id → the version the client has (sent, or named by the client in `since`). */
  readonly #positions = new Map<string, number>();
  readonly #outbox: Outbox;
  readonly #twins: TwinService;

  constructor(outbox: Outbox, twins: TwinService) {
    this.#outbox = outbox;
    this.#twins = twins;
  }

  /** True once the client has a starting point for `twin` (a snapshot, a change or its `since`). */
  has(twin: string): boolean { return this.#positions.has(twin); }

  get size(): number { return this.#positions.size; }

  /** Sends the snapshot unless the client already has this version or a later one. */
  snapshot(state: TwinState, resync: boolean): void {
    const at = this.#positions.get(state.id);
    if (at !== undefined && state.version <= at) return;
    this.#positions.set(state.id, state.version);
    this.#outbox.send(snapshotFrame(state, this.#twins.connection(state), resync));
  }

  /** Sends the change unless its version was already delivered. */
  change(event: ChangeEvent): void {
    const at = this.#positions.get(event.twin);
    if (at !== undefined && event.version <= at) return;
    this.#positions.set(event.twin, event.version);
    this.#outbox.send(changeFrame(event));
  }

  /** The client resumed at `version` and nothing was missed: later changes follow as changes. */
  resumeAt(twin: string, version: number): void {
    if (!this.#positions.has(twin)) this.#positions.set(twin, version);
  }

  /**
   * Sends `deleted` once (the notice reaches every overlapping subscription) and forgets the twin,
   * so a twin recreated under the same id starts over with a snapshot.
   */
  deleted(twin: string): void {
    if (this.#positions.delete(twin)) this.#outbox.send(deletedFrame(twin));
  }

  /** No subscription covers `twin` any more: a later subscription starts with a snapshot. */
  forget(twin: string): void { this.#positions.delete(twin); }

  forgetWhere(test: (twin: string) => boolean): void {
    for (const twin of this.#positions.keys()) if (test(twin)) this.#positions.delete(twin);
  }
}
