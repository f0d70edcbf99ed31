/**
 * Paged JSON replies (`{items, next}`) with a byte budget: a page stops early, with a `next`, once
 * its items reach the budget, so one request can never build hundreds of MB (a full twin with its
 * metadata can be ~250 KB). Items are serialized once, straight into the body.
 */

/** Roughly 4 MiB of JSON per page (counted in UTF-16 code units, close enough for a budget). */
export const PAGE_BUDGET = 4 * 1024 * 1024;

export class PageWriter<K> {
  readonly #parts: string[] = [];
  #size = 0;
  #lastKey: K | undefined;
  readonly #budget: number;

  constructor(budget = PAGE_BUDGET) { this.#budget = budget; }

  get count(): number { return this.#parts.length; }
  /** Key of the last item added (the cursor of the next page). */
  get lastKey(): K | undefined { return this.#lastKey; }

  /** Adds an item unless the page is full; the first item always fits. */
  add(key: K, item: unknown): boolean {
    const json = JSON.stringify(item);
    if (this.#parts.length > 0 && this.#size + json.length > this.#budget) return false;
    this.#parts.push(json);
    this.#size += json.length + 1;
    this.#lastKey = key;
    return true;
  }

  /** Advances the cursor past an item that was examined but not included (filtered out). */
  skip(key: K): void { this.#lastKey = key; }

  body(next: string | number | null): string {
    return `{"items":[${this.#parts.join(',')}],"next":${JSON.stringify(next)}}`;
  }
}
