import type { JsonObject, JsonValue } from './types.ts';

const hasOwn = Object.hasOwn;

/**
 * True for a plain JSON object: not null, not an array, prototype `Object.prototype` or null
 * (so class instances such as Date or Map are not objects here).
 *
 * @example
 * isPlainObject({ a: 1 }); // true
 * isPlainObject([1]);      // false
 */
export function isPlainObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Structural equality of JSON values: arrays element-wise in order, objects by their own keys
 * regardless of key order.
 *
 * @example
 * deepEqual({ a: [1, 2], b: 1 }, { b: 1, a: [1, 2] }); // true
 */
export function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i]!, b[i]!)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in with own checks instead of Object.keys: equal objects are the common case on the hot
  // path, and this compares them without allocating key arrays.
  let count = 0;
  for (const k in a) {
    if (!hasOwn(a, k)) continue;
    if (!hasOwn(b, k) || !deepEqual(a[k]!, b[k]!)) return false;
    count++;
  }
  for (const k in b) if (hasOwn(b, k) && --count < 0) return false;
  return count === 0;
}

/**
 * True if `o` has no own enumerable keys.
 *
 * @example
 * isEmptyObject({}); // true
 */
export function isEmptyObject(o: JsonObject): boolean {
  for (const k in o) if (hasOwn(o, k)) return false;
  return true;
}

/**
 * The exact UTF-8 byte length of `JSON.stringify(v)`.
 *
 * @example
 * jsonByteLength({ t: '€' }); // 11: {"t":"€"} with € taking 3 bytes
 */
export function jsonByteLength(v: JsonValue): number {
  return utf8ByteLength(JSON.stringify(v));
}

/**
 * The UTF-8 byte length of a string. A lone surrogate counts 3 bytes (an encoder writes U+FFFD);
 * JSON.stringify output never holds one, since it escapes them as `\uXXXX`.
 */
export function utf8ByteLength(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      // A pair is two code units and four bytes: two more than already counted.
      if (next >= 0xdc00 && next <= 0xdfff) { bytes += 2; i++; } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Sets an own data property. Plain assignment of `__proto__` would replace the prototype
 * instead of creating a key, so that one key goes through defineProperty.
 */
export function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}
