/**
 * @module
 * The store contract's twin listing: id order, prefixes, `after` and `limit`, paging.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TwinStore } from '../types.ts';
import { ids, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

// Ids chosen so that byte order, prefixes and the `!` separator all matter.
const TRICKY_IDS = ['a', 'a-', 'a.b', 'a.b.c', 'a0', 'a:b', 'a_b', 'aa', 'ab', 'A', 'B', '0', '9', 'b', 'z'];

/** The listTwins() tests, on the store of `subject`. */
export function describeListingContract(subject: StoreUnderTest): void {
  describe('listTwins()', () => {
    let store: TwinStore;
    beforeEach(async () => {
      store = subject.store;
      await store.commit(TRICKY_IDS.map((id) => ({ type: 'putTwin', twin: sampleTwin(id) })));
    });

    it('lists every twin in id order', async () => {
      expect(await ids(store, {})).toEqual([...TRICKY_IDS].sort());
    });

    it.each(['a', 'a.', 'a.b', 'a:', 'a-', 'a_', 'aa', 'A', '9', 'zz', 'a!', '"', 'é'])(
      'lists exactly the ids starting with prefix %j',
      async (prefix) => {
        expect(await ids(store, { prefix })).toEqual(TRICKY_IDS.filter((id) => id.startsWith(prefix)).sort());
      },
    );

    it('honours limit, and a limit of 0 lists nothing', async () => {
      expect(await ids(store, { limit: 3 })).toEqual([...TRICKY_IDS].sort().slice(0, 3));
      expect(await ids(store, { prefix: 'a', limit: 2 })).toEqual(['a', 'a-']);
      expect(await ids(store, { limit: 0 })).toEqual([]);
    });

    it('starts after `after`, exclusive, whether or not that id exists', async () => {
      expect(await ids(store, { after: 'a.b' })).toEqual([...TRICKY_IDS].sort().filter((id) => id > 'a.b'));
      expect(await ids(store, { after: 'a.a' })).toEqual([...TRICKY_IDS].sort().filter((id) => id > 'a.a'));
      expect(await ids(store, { prefix: 'a.', after: 'a.b' })).toEqual(['a.b.c']);
      // An `after` before the prefix range, and one past it.
      expect(await ids(store, { prefix: 'a.', after: '0' })).toEqual(['a.b', 'a.b.c']);
      expect(await ids(store, { prefix: 'a.', after: 'b' })).toEqual([]);
    });

    it('pages through a prefix with after/limit without gaps or repeats', async () => {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await ids(store, { prefix: 'a', limit: 3, ...(after === undefined ? {} : { after }) });
        seen.push(...page);
        if (page.length < 3) break;
        after = page[page.length - 1];
      }
      expect(seen).toEqual(TRICKY_IDS.filter((id) => id.startsWith('a')).sort());
    });

    it('stops early without trouble when the caller breaks out', async () => {
      const got: string[] = [];
      for await (const twin of store.listTwins({})) {
        got.push(twin.id);
        if (got.length === 2) break;
      }
      expect(got).toEqual(['0', '9']);
      expect(await store.getTwin('a')).toBeDefined();
    });

    it('agrees with filtering by startsWith for random ids and prefixes', async () => {
      const idChar = fc.constantFrom('a', 'b', 'A', '0', '.', '_', ':', '-');
      const suffix = fc.array(idChar, { minLength: 0, maxLength: 4 }).map((cs) => cs.join(''));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(suffix, { maxLength: 12 }), suffix, fc.option(suffix), async (suffixes, prefixSuffix, afterSuffix) => {
          // Each run gets its own namespace `r{n}_`, so runs need no reset between them.
          const ns = `r${run++}_`;
          await store.commit(suffixes.map((s) => ({ type: 'putTwin', twin: sampleTwin(ns + s) })));
          const prefix = ns + prefixSuffix;
          const after = afterSuffix === null ? undefined : ns + afterSuffix;
          const expected = suffixes.map((s) => ns + s).filter((id) => id.startsWith(prefix) && (after === undefined || id > after)).sort();
          expect(await ids(store, { prefix, ...(after === undefined ? {} : { after }) })).toEqual(expected);
        }),
        { numRuns: 40 },
      );
    });
  });
}
