import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './merge-patch.ts';
import { metadataFor, updateMetadata } from './metadata.ts';
import type { JsonObject, MetadataTree } from './types.ts';

const T0 = '2026-11-23T10:00:00.000Z';
const T1 = '2026-11-23T11:00:00.000Z';
const at = (t: string) => ({ updatedAt: t });

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** Applies `patch` to `before` and updates the metadata the way planPatch does. */
function write(before: JsonObject, patch: JsonObject, meta = metadataFor(before, T0)): { after: JsonObject; meta: MetadataTree; old: MetadataTree } {
  deepFreeze(before); deepFreeze(patch); deepFreeze(meta);
  const after = applyMergePatch(before, patch).value;
  return { after, meta: updateMetadata(meta, before, after, patch, T1), old: meta };
}

describe('metadataFor()', () => {
  it('gives every leaf the time and mirrors nested objects', () => {
    expect(metadataFor({ temp: 21, list: [1, { a: 1 }], room: { name: 'lab', empty: {} }, off: null as never }, T0)).toEqual({
      temp: at(T0), list: at(T0), room: { name: at(T0), empty: {} }, off: at(T0),
    });
  });

  it('maps a document key named updatedAt like any other key', () => {
    expect(metadataFor({ updatedAt: 'x', o: { updatedAt: { y: 1 } } }, T0)).toEqual({ updatedAt: at(T0), o: { updatedAt: { y: at(T0) } } });
  });

  it('writes __proto__ keys as own keys', () => {
    const meta = metadataFor(JSON.parse('{"__proto__":1}') as JsonObject, T0);
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(JSON.stringify(meta)).toBe(`{"__proto__":{"updatedAt":"${T0}"}}`);
  });

  it('shares one leaf object among the leaves it writes, at any depth', () => {
    const meta = metadataFor({ a: 1, b: [2], o: { c: 3 } }, T0);
    expect(meta['a']).toBe(meta['b']);
    expect(meta['a']).toBe((meta['o'] as MetadataTree)['c']);
  });
});

describe('updateMetadata()', () => {
  it('sets the time of a leaf whose value changed', () => {
    expect(write({ a: 1, b: 2 }, { a: 3 }).meta).toEqual({ a: at(T1), b: at(T0) });
  });

  it('stamps a leaf written with the value it already had: it was written now (CONTRACT §1)', () => {
    expect(write({ a: 1, b: [1, 2], c: 'x' }, { a: 1, b: [1, 2] }).meta).toEqual({ a: at(T1), b: at(T1), c: at(T0) });
  });

  it('shares one leaf object among the leaves one write stamps, keeping the others', () => {
    const { meta, old } = write({ a: 1, b: 2, c: 3, o: { x: 1 } }, { a: 5, b: 6, o: { y: 2 } });
    expect(meta['a']).toBe(meta['b']);
    expect(meta['a']).toBe((meta['o'] as MetadataTree)['y']);
    expect(meta['c']).toBe(old['c']);
  });

  it('adds metadata for a new leaf', () => {
    expect(write({ a: 1 }, { b: 'x' }).meta).toEqual({ a: at(T0), b: at(T1) });
  });

  it('removes the metadata of a deleted key, leaf or subtree', () => {
    expect(write({ a: 1, b: { c: 1 }, d: 1 }, { a: null, b: null }).meta).toEqual({ d: at(T0) });
  });

  it('ignores the deletion of a missing key', () => {
    const { meta, old } = write({ a: 1 }, { b: null });
    expect(meta).toBe(old);
  });

  it('recurses into nested objects and stamps exactly the leaves the patch names', () => {
    const { meta, old } = write({ o: { a: 1, b: 2, d: 5 }, k: { x: 1 } }, { o: { a: 1, b: 3, c: 4 } });
    expect(meta).toEqual({ o: { a: at(T1), b: at(T1), c: at(T1), d: at(T0) }, k: { x: at(T0) } });
    expect(meta.k).toBe(old.k);
  });

  it('returns the metadata itself when the patch writes no leaf and deletes nothing', () => {
    for (const patch of [{}, { o: {} }, { o: { gone: null } }, { gone: null }] as JsonObject[]) {
      const { meta, old } = write({ o: { a: 1 }, b: 2 }, patch);
      expect(meta).toBe(old);
    }
  });

  it('gives a whole new subtree when an object replaces a scalar', () => {
    expect(write({ a: 1 }, { a: { b: 1, c: { d: 2 } } }).meta).toEqual({ a: { b: at(T1), c: { d: at(T1) } } });
    expect(write({}, { a: { b: null, c: 1 } }).meta).toEqual({ a: { c: at(T1) } });
    expect(write({ a: 1 }, { a: {} }).meta).toEqual({ a: {} });
  });

  it('gives a leaf when a scalar replaces an object', () => {
    expect(write({ a: { b: 1 } }, { a: 5 }).meta).toEqual({ a: at(T1) });
  });

  it('tells leaves from subtrees by the document, not by an updatedAt key', () => {
    // A document whose object has a key "updatedAt": its metadata looks just like a leaf.
    const before = { o: { updatedAt: 'x' } };
    const { meta } = write(before, { o: { updatedAt: 'y', n: 1 } });
    expect(meta).toEqual({ o: { updatedAt: at(T1), n: at(T1) } });
    // And a leaf replaced by an object gets a subtree, not a merge into the leaf's record.
    expect(write({ o: 'leaf' }, { o: { updatedAt: 1 } }).meta).toEqual({ o: { updatedAt: at(T1) } });
  });

  it('rebuilds missing metadata of an object it recurses into', () => {
    const before = { o: { a: 1 } };
    expect(write(before, { o: { b: 2 } }, {}).meta).toEqual({ o: { b: at(T1) } });
  });

  it('never mutates its inputs', () => {
    // write() deep-freezes every input, so a mutation would throw in strict mode.
    expect(() => write({ a: { b: 1, c: 2 }, d: 1 }, { a: { b: null, c: 3, e: { f: 1 } }, d: null, g: [1] })).not.toThrow();
  });
});
