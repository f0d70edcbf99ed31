/**
 * What one consumer (an SSE stream, a WebSocket connection, an observation) has been given, per
 * twin: the last version. Streams offer every item here first and deliver only what is new, so a
 * consumer sees each version of a twin once and in ascending order, however its streams overlap
 * (a WebSocket connection shares one `Positions` across its id and prefix subscriptions) and
 * whether an item comes from a snapshot, a history replay, a listing or a live notice.
 */
import type { ChangeEvent, TwinState } from '../src/twin/types.ts';

export class Positions {
  /** twin id → the version the consumer has (delivered, or named by it as its resume point). */
  readonly #at = new Map<string, number>();

  /** True once the consumer has a starting point for `twin` (a snapshot, a change or its `since`). */
  has(twin: string): boolean { return this.#at.has(twin); }

  get size(): number { return this.#at.size; }

  /** True (and recorded) unless the consumer already has this version or a later one. */
  takeSnapshot(state: TwinState): boolean { return this.#advance(state.id, state.version); }

  /** True (and recorded) unless this version was already delivered. */
  takeChange(event: ChangeEvent): boolean { return this.#advance(event.twin, event.version); }

  /** The consumer resumed at `version` and missed nothing: later changes follow as changes. */
  resumeAt(twin: string, version: number): void {
    if (!this.#at.has(twin)) this.#at.set(twin, version);
  }

  /**
   * True once per deletion of a twin the consumer knows (the notice may reach several overlapping
   * streams); forgets the twin, so one recreated under the same id starts over with a snapshot.
   */
  takeDeleted(twin: string): boolean { return this.#at.delete(twin); }

  /** No stream covers `twin` any more: a later one starts with a snapshot. */
  forget(twin: string): void { this.#at.delete(twin); }

  forgetWhere(test: (twin: string) => boolean): void {
    for (const twin of this.#at.keys()) if (test(twin)) this.#at.delete(twin);
  }

  #advance(twin: string, version: number): boolean {
    const at = this.#at.get(twin);
    if (at !== undefined && version <= at) return false;
    this.#at.set(twin, version);
    return true;
  }
}
