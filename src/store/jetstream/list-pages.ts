/**
 * Listing for the JetStream store: the node-local index gives ids only (twin-index.ts), so the
 * listed twins are read from the stream in pages of parallel head reads.
 */
import type { TwinState } from '../../twin/types.ts';
import type { TwinHead } from './record.ts';

/** Twins listed per round of parallel reads. */
const LIST_PAGE = 64;

/**
 * The states of `ids` in order, at most `limit`, skipping twins deleted since the index listed
 * them (as a LevelDB iterator would not see them). `check` runs before each page (store open?).
 */
export async function* pagedStates(
  ids: Iterable<string>, limit: number, head: (id: string) => Promise<{ head: TwinHead }>, check: () => void,
): AsyncIterable<TwinState> {
  let left = limit;
  const it = ids[Symbol.iterator]();
  while (left > 0) {
    const page: string[] = [];
    const size = Math.min(left, LIST_PAGE);
    for (let next = it.next(); !next.done; next = page.length < size ? it.next() : { done: true, value: undefined }) page.push(next.value);
    if (page.length === 0) return;
    check();
    for (const { head: h } of await Promise.all(page.map(head))) {
      if (h.state === null || left <= 0) continue;
      left--;
      yield h.state;
    }
  }
}
