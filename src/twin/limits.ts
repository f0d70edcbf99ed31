import { fail } from '../errors.ts';
import { isPlainObject, setOwn, utf8ByteLength } from './json.ts';
import type { DocumentLimits, JsonObject, Section } from './types.ts';

const hasOwn = Object.hasOwn;

/** Keys refused anywhere in a document (CONTRACT §1): they reach prototypes in naive consumers. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

interface Walk { path: (string | number)[]; limits: DocumentLimits }

/**
 * Checks that `value` is a JSON object fit to be (or to patch) the given section, and returns it
 * as is (no copy). Refuses with `invalid_document` anything that is not JSON (undefined, NaN,
 * ±Infinity, bigint, functions, symbols, Date, Map, typed arrays, class instances, array holes),
 * a forbidden key, or a key longer than `maxKeyLength` UTF-16 code units; with `too_deep` nesting
 * beyond `maxDepth`, where the section object is depth 1 and each nested object or array adds 1.
 * Error details carry the dot `path` of the offence (array indexes as numbers).
 *
 * The walk recurses at most `maxDepth` levels and stops there, so a 100,000-deep input is refused
 * without exhausting the stack (and a cyclic one is refused as too deep).
 *
 * @example
 * validateSection({ a: { b: 1 } }, 'desired', DEFAULT_LIMITS); // returns the object
 * validateSection({ a: NaN }, 'desired', DEFAULT_LIMITS);      // throws invalid_document at desired.a
 */
export function validateSection(value: unknown, section: Section, limits: DocumentLimits): JsonObject {
  if (!isPlainObject(value)) {
    throw fail('invalid_document', `"${section}" must be an object: got ${kindOf(value)}`, { path: section });
  }
  if (limits.maxDepth < 1) tooDeep({ path: [section], limits });
  walkObject(value, 1, { path: [section], limits });
  return value;
}

/**
 * Refuses a section whose JSON encoding is over its byte limit with `too_large`
 * (details `{section, bytes, limit}`).
 *
 * @example
 * assertSectionSize(doc, 'tags', DEFAULT_LIMITS); // throws when JSON.stringify(doc) > 8 KiB of UTF-8
 */
export function assertSectionSize(doc: JsonObject, section: Section, limits: DocumentLimits): void {
  const limit = sectionLimit(section, limits);
  const bytes = bytesOver(doc, limit);
  if (bytes !== null) {
    throw fail('too_large', `Section "${section}" is too large: ${bytes} bytes, the limit is ${limit}`, { section, bytes, limit });
  }
}

/**
 * Refuses, before it is merged, a patch of `section` whose JSON encoding is over the section's
 * byte limit, with `too_large` (details `{section, bytes, limit}`): no request can make the core
 * merge or record more than a section's worth of patch, whatever it does to the section.
 * Deletions of members `target` has are not counted, since they only shrink what is already
 * within the limit: clearing a full section (one `null` per member, which can be longer than the
 * members themselves) is always possible.
 *
 * @example
 * assertPatchSize({ b: 'x'.repeat(40_000) }, {}, 'desired', DEFAULT_LIMITS);
 * // throws: Patch of "desired" is too large: 40008 bytes, the limit is 32768
 */
export function assertPatchSize(patch: JsonObject, target: JsonObject, section: Section, limits: DocumentLimits): void {
  const limit = sectionLimit(section, limits);
  let bytes = bytesOver(patch, limit);
  if (bytes === null) return;
  const counted = withoutDeletionsOf(patch, target);
  if (counted !== patch) bytes = bytesOver(counted, limit);
  if (bytes !== null) {
    throw fail('too_large', `Patch of "${section}" is too large: ${bytes} bytes, the limit is ${limit}`, { section, bytes, limit });
  }
}

function sectionLimit(section: Section, limits: DocumentLimits): number {
  return section === 'desired' ? limits.desiredBytes : section === 'reported' ? limits.reportedBytes : limits.tagsBytes;
}

/** The UTF-8 size of `doc` as JSON when it is over `limit`, else null. */
function bytesOver(doc: JsonObject, limit: number): number | null {
  const json = JSON.stringify(doc);
  // A UTF-16 code unit takes 1 to 3 UTF-8 bytes, so most documents are decided without counting.
  if (json.length * 3 <= limit) return null;
  const bytes = utf8ByteLength(json);
  return bytes > limit ? bytes : null;
}

/** `patch` without its `null`s for members `target` has, at any depth; `patch` itself if none. */
function withoutDeletionsOf(patch: JsonObject, target: JsonObject): JsonObject {
  let out: JsonObject | undefined;
  for (const key in patch) {
    if (!hasOwn(patch, key) || !hasOwn(target, key)) continue;
    const p = patch[key]!;
    const t = target[key]!;
    if (p === null) {
      out ??= { ...patch };
      delete out[key];
    } else if (isPlainObject(p) && isPlainObject(t)) {
      const next = withoutDeletionsOf(p, t);
      if (next === p) continue;
      out ??= { ...patch };
      setOwn(out, key, next);
    }
  }
  return out ?? patch;
}

function walkObject(o: JsonObject, depth: number, w: Walk): void {
  for (const key in o) {
    if (!hasOwn(o, key)) continue;
    if (FORBIDDEN_KEYS.has(key)) {
      w.path.push(key);
      throw fail('invalid_document', `Forbidden key "${key}" at "${dotPath(w.path)}": __proto__, constructor and prototype are reserved`, { path: dotPath(w.path) });
    }
    if (key.length > w.limits.maxKeyLength) {
      const where = dotPath(w.path);
      w.path.push(key);
      const shown = JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}…` : key);
      throw fail('invalid_document',
        `Key ${shown} at "${where}" is too long: ${key.length} UTF-16 code units, the limit is ${w.limits.maxKeyLength}`,
        { path: dotPath(w.path), length: key.length, maxKeyLength: w.limits.maxKeyLength });
    }
    w.path.push(key);
    if (!key.isWellFormed()) notWellFormed(w);
    checkValue(o[key], depth, w);
    w.path.pop();
  }
}

// Lone surrogates are valid in JSON text but not in UTF-8 or CBOR: stored, they would come back
// as U+FFFD. Refusing them keeps "what you wrote is what you read".
function notWellFormed(w: Walk): never {
  const path = dotPath(w.path);
  throw fail('invalid_document', `Invalid string at "${path}": contains a lone UTF-16 surrogate`, { path });
}

function checkValue(v: unknown, parentDepth: number, w: Walk): void {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) notWellFormed(w);
      return;
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(v)) return;
      break;
    case 'object': {
      if (v === null) return;
      const isArray = Array.isArray(v);
      if (!isArray && !isPlainObject(v)) break;
      // Checked before descending: this bound is what keeps the recursion shallow.
      if (parentDepth >= w.limits.maxDepth) tooDeep(w);
      if (isArray) walkArray(v as unknown[], parentDepth + 1, w);
      else walkObject(v as JsonObject, parentDepth + 1, w);
      return;
    }
  }
  const path = dotPath(w.path);
  throw fail('invalid_document', `Invalid value at "${path}": ${kindOf(v)} is not a JSON value`, { path });
}

function walkArray(a: unknown[], depth: number, w: Walk): void {
  for (let i = 0; i < a.length; i++) {
    w.path.push(i);
    checkValue(a[i], depth, w);
    w.path.pop();
  }
}

function tooDeep(w: Walk): never {
  const path = dotPath(w.path);
  const { maxDepth } = w.limits;
  throw fail('too_deep', `Document too deep at "${path}": the limit is ${maxDepth} levels`, { path, maxDepth });
}

function dotPath(path: (string | number)[]): string {
  return path.join('.');
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? 'number' : String(v);
  if (typeof v !== 'object') return typeof v;
  if (isPlainObject(v)) return 'object';
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  return tag === 'Object' ? 'non-plain object' : tag;
}

/**
 * Throws `invalid_document` when any object inside `value` has an own key `__proto__`,
 * `constructor` or `prototype`. For values that are not twin sections (command payloads and
 * results, requests forwarded between cluster nodes): CBOR decoding would otherwise rename
 * `__proto__` silently (cbor-x's safe keys), accepting on one path what another refuses.
 * Iterative, so no nesting depth can overflow the stack.
 */
export function assertNoForbiddenKeys(value: unknown, what: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) { for (const item of v) stack.push(item); continue; }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) throw fail('invalid_document', `Forbidden key "${key}" in ${what}: __proto__, constructor and prototype are reserved`);
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
}
