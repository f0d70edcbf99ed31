import { deepEqual, isPlainObject, setOwn } from './json.ts';
import type { JsonObject } from './types.ts';

const hasOwn = Object.hasOwn;
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/**
 * The leaves of `desired` that `reported` does not match yet (CONTRACT §1): deep equality, arrays
 * compare whole, a key missing from `reported` differs, keys only in `reported` never appear, and
 * an object in `desired` contributes only its differing leaves (an empty one, nothing).
 * The result is a fresh object that may share leaf values with `desired`.
 *
 * @example
 * computeDelta({ temp: 21, mode: 'eco' }, { temp: 19.5, mode: 'eco', fw: '1.2.0' }); // { temp: 21 }
 */
export function computeDelta(desired: JsonObject, reported: JsonObject): JsonObject {
  return deltaOf(desired, reported) ?? {};
}

/** Undefined when empty, so converged subtrees allocate nothing. */
function deltaOf(desired: JsonObject, reported: JsonObject): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const key in desired) {
    if (!hasOwn(desired, key)) continue;
    const d = desired[key]!;
    const r = hasOwn(reported, key) ? reported[key]! : undefined;
    if (isPlainObject(d)) {
      const sub = deltaOf(d, r !== undefined && isPlainObject(r) ? r : EMPTY);
      if (sub === undefined) continue;
      out ??= {};
      setOwn(out, key, sub);
    } else if (r === undefined || !deepEqual(d, r)) {
      out ??= {};
      setOwn(out, key, d);
    }
  }
  return out;
}
