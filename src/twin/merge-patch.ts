import { deepEqual, isPlainObject, setOwn } from './json.ts';
import type { JsonObject, JsonValue } from './types.ts';

const hasOwn = Object.hasOwn;

/**
 * Applies a JSON Merge Patch (RFC 7396) to an object: objects merge recursively, `null` deletes a
 * key, arrays and scalars replace whole. Never mutates its inputs; unchanged subtrees are shared
 * by reference, so `changed` is false exactly when `value === target`.
 *
 * @example
 * applyMergePatch({ a: 1, b: { c: 2 } }, { a: null, b: { d: 3 } });
 * // { value: { b: { c: 2, d: 3 } }, changed: true }
 */
export function applyMergePatch(target: JsonObject, patch: JsonObject): { value: JsonObject; changed: boolean } {
  const value = mergeObject(target, patch);
  return { value, changed: value !== target };
}

/** Returns `target` itself when the patch changes nothing; copies a level only on its first change. */
function mergeObject(target: JsonObject, patch: JsonObject): JsonObject {
  let out: JsonObject | undefined;
  for (const key in patch) {
    if (!hasOwn(patch, key)) continue;
    const p = patch[key]!;
    const has = hasOwn(target, key);
    if (p === null) {
      // RFC 7396 §2: deleting an absent member is no change.
      if (!has) continue;
      out ??= { ...target };
      delete out[key];
      continue;
    }
    const current = has ? target[key]! : undefined;
    let next: JsonValue;
    if (isPlainObject(p)) {
      if (current !== undefined && isPlainObject(current)) {
        next = mergeObject(current, p);
        if (next === current) continue;
      } else {
        // RFC 7396 §2: a patch object onto a non-object starts from {}; the result is an object
        // where there was none, so this is always a change.
        next = stripNulls(p);
      }
    } else if (current !== undefined && deepEqual(current, p)) {
      continue;
    } else {
      next = p;
    }
    out ??= { ...target };
    setOwn(out, key, next);
  }
  return out ?? target;
}

/** A patch object merged onto {}: its nulls removed at every depth, shared when it has none. */
function stripNulls(patch: JsonObject): JsonObject {
  let out: JsonObject | undefined;
  for (const key in patch) {
    if (!hasOwn(patch, key)) continue;
    const p = patch[key]!;
    if (p === null) {
      out ??= { ...patch };
      delete out[key];
    } else if (isPlainObject(p)) {
      const next = stripNulls(p);
      if (next === p) continue;
      out ??= { ...patch };
      setOwn(out, key, next);
    }
  }
  return out ?? patch;
}
