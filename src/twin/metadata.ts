import { isPlainObject, setOwn } from './json.ts';
import type { JsonObject, JsonValue, LeafMeta, MetadataTree } from './types.ts';

const hasOwn = Object.hasOwn;
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/**
 * Metadata for a whole document written at `now`: every leaf gets `{updatedAt: now}`, a nested
 * object maps to a subtree (an empty object to `{}`); arrays and scalars are leaves. The leaves
 * are one shared object: metadata is never mutated in place, and a twin whose device reports
 * twenty values at once then holds one leaf instead of twenty (`updateMetadata` likewise).
 *
 * @example
 * metadataFor({ temp: 21, room: { name: 'lab' } }, t);
 * // { temp: { updatedAt: t }, room: { name: { updatedAt: t } } }
 */
export function metadataFor(doc: JsonObject, now: string): MetadataTree {
  return metadataWith(doc, { updatedAt: now });
}

function metadataWith(doc: JsonObject, leaf: LeafMeta): MetadataTree {
  const out: MetadataTree = {};
  for (const key in doc) {
    if (!hasOwn(doc, key)) continue;
    const v = doc[key]!;
    setOwn<LeafMeta | MetadataTree>(out, key, isPlainObject(v) ? metadataWith(v, leaf) : leaf);
  }
  return out;
}

/**
 * The metadata of a section after `patch` turned `before` into `after` (CONTRACT §1: metadata holds
 * "the time each leaf was last written"). Every leaf the patch writes gets `updatedAt = now`, even
 * when it wrote the value the leaf already had; a leaf the patch does not name keeps its time; a
 * deleted key loses its metadata. A patch object that replaces a non-object writes a whole new
 * subtree (`{}` for an empty one). Whether the write counts at all — a patch that changes nothing
 * anywhere is a no-op — is `planPatch`'s decision, made before this is called. Never mutates its
 * inputs; returns `meta` itself when the patch writes and deletes nothing.
 *
 * Leaves and subtrees are told apart by walking alongside the document, never by looking for an
 * `updatedAt` key, since a document may have a key of that name.
 *
 * @example
 * updateMetadata({ a: { updatedAt: t0 }, b: { updatedAt: t0 } }, { a: 1, b: 2 }, { a: 1, b: 3 }, { a: 1, b: 3 }, t1);
 * // { a: { updatedAt: t1 }, b: { updatedAt: t1 } }: `a` was written too, with its old value
 */
export function updateMetadata(meta: MetadataTree, before: JsonObject, after: JsonObject, patch: JsonObject, now: string): MetadataTree {
  return update(meta, before, after, patch, { updatedAt: now });
}

function update(meta: MetadataTree, before: JsonObject, after: JsonObject, patch: JsonObject, leaf: LeafMeta): MetadataTree {
  let out: MetadataTree | undefined;
  for (const key in patch) {
    if (!hasOwn(patch, key)) continue;
    const p = patch[key]!;
    let next: LeafMeta | MetadataTree;
    if (p === null) {
      if (!hasOwn(meta, key)) continue;
      out ??= { ...meta };
      delete out[key];
      continue;
    }
    const a = own(after, key);
    if (isPlainObject(p)) {
      const b = own(before, key);
      if (b !== undefined && isPlainObject(b)) {
        const current = own(meta, key);
        // `before[key]` is an object, so its metadata is a subtree; missing metadata (an
        // inconsistency) is rebuilt from {} rather than trusted.
        const subtree = current !== undefined && isPlainObject(current) ? (current as MetadataTree) : {};
        next = update(subtree, b, a !== undefined && isPlainObject(a) ? a : EMPTY, p, leaf);
        if (next === current) continue;
      } else {
        next = metadataWith(a !== undefined && isPlainObject(a) ? a : EMPTY, leaf);
      }
    } else {
      // A scalar or an array is one leaf, written whole.
      next = leaf;
    }
    out ??= { ...meta };
    setOwn(out, key, next);
  }
  return out ?? meta;
}

function own(o: { [key: string]: unknown }, key: string): JsonValue | undefined {
  return hasOwn(o, key) ? (o[key] as JsonValue) : undefined;
}
