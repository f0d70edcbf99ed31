/** Small pure helpers over JSON documents: merge-patch diff (RFC 7396), leaves, ages. */
import type { Json, JsonObject } from './api.ts';

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON Merge Patch (RFC 7396) that turns `from` into `to`: removed keys become null, objects
 * recurse, anything else (arrays included, §2) is replaced whole.
 */
export function mergeDiff(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    const old = from[key];
    if (isObject(old) && isObject(value)) {
      const inner = mergeDiff(old, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) patch[key] = value;
  }
  return patch;
}

/** Path of the first null in a document (merge patch cannot store one), or null. */
export function findNull(doc: Json, path = ''): string | null {
  if (doc === null) return path || '(root)';
  if (Array.isArray(doc)) return null;
  if (isObject(doc)) {
    for (const [k, v] of Object.entries(doc)) {
      const hit = findNull(v, path ? `${path}.${k}` : k);
      if (hit !== null) return hit;
    }
  }
  return null;
}

/** Value at a dot path, or undefined. */
export function at(doc: Json | undefined, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const key of path) cur = isObject(cur) ? cur[key] : undefined;
  return cur;
}

/** Dot paths of every numeric leaf. */
export function numericLeaves(doc: JsonObject, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v === 'number') out.push([...prefix, k]);
    else if (isObject(v)) out.push(...numericLeaves(v, [...prefix, k]));
  }
  return out;
}

export function age(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export const isEmpty = (o: JsonObject) => Object.keys(o).length === 0;
