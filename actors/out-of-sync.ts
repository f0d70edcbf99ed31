/**
 * The count of twins whose device has not converged (`doppel_twins_out_of_sync`): read once from
 * the store's pending index, then kept current by every commit's change to it. Changes committed
 * while the first count runs are added to it afterwards, so none is lost or counted twice.
 */
import type { TwinStore } from '../src/store/types.ts';

export class OutOfSyncCount {
  #value: number | null = null;
  #early = 0;

  /** A commit moved `change` twins into (+1) or out of (-1) the pending index. */
  add(change: number): void {
    if (this.#value === null) this.#early += change;
    else this.#value += change;
  }

  /** Counts from the pending index (cluster mode recounts: other nodes change twins too). */
  async count(store: Pick<TwinStore, 'countPending'>): Promise<number> {
    const counted = await store.countPending();
    this.#value = counted + this.#early;
    this.#early = 0;
    return this.#value;
  }

  /** Null until `count` has run once. */
  get value(): number | null { return this.#value; }
}
