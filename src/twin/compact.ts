import { computeDelta } from './delta.ts';
import { deepEqual, isPlainObject, setOwn } from './json.ts';
import type { JsonObject, JsonValue, LeafMeta, MetadataTree, TwinState } from './types.ts';

const hasOwn = Object.hasOwn;
/** The one empty object of compacted twins; frozen, since it is shared by every twin. */
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;
/** V8 copies a slice shorter than this instead of pointing into the sliced string. */
const MIN_SLICE_LENGTH = 13;

/**
 * An equal twin that costs less memory to hold, for an actor keeping a twin it loaded from the
 * store resident. A decoded twin is built value by value: every occurrence of a string is its own
 * copy (a fresh twin holds one time six times: created, updated, pending since and each metadata
 * leaf), and the CBOR decoder returns strings of 13 characters or more as slices of one string it
 * extracted from the whole record, so a single timestamp keeps that whole string alive. Measured
 * on a small twin (~550 bytes as JSON), this takes its heap from ~1,600 bytes to ~600.
 *
 * The result shares, within the twin: each distinct string (one flat copy), each metadata leaf
 * `{updatedAt}` per distinct time, `delta`'s values with `desired`'s (as a computed delta does)
 * when the stored delta is the computed one, and one frozen empty object for every empty object.
 * Its top level has the same fields in the same order as `planCreate` builds, so every twin has
 * one hidden class. Only for states nothing mutates, as the actor's are: shared parts are shared.
 * `id` is the caller's copy of the twin's id, used instead of the decoded one.
 *
 * @example
 * const state = compactTwin(await store.getTwin(id), id);
 * // deepEqual(state, stored); state.createdAt === state.updatedAt when they were equal strings
 */
export function compactTwin(state: TwinState, id: string = state.id): TwinState {
  const c = new Compactor();
  if (state.id === id) c.strings.set(id, id);
  const desired = c.object(state.desired);
  const reported = c.object(state.reported);
  const computed = computeDelta(desired, reported);
  return {
    id: c.string(state.id),
    version: state.version,
    desired,
    reported,
    delta: deepEqual(computed, state.delta) ? c.shared(computed) : c.object(state.delta),
    tags: c.object(state.tags),
    metadata: { desired: c.metadata(state.metadata.desired, desired), reported: c.metadata(state.metadata.reported, reported) },
    pendingSince: c.nullable(state.pendingSince),
    lastSeenAt: c.nullable(state.lastSeenAt),
    lastSeenVia: state.lastSeenVia,
    tokenId: c.nullable(state.tokenId),
    createdAt: c.string(state.createdAt),
    updatedAt: c.string(state.updatedAt),
  };
}

/** One compaction's shared strings and leaves. Rewrites the (freshly decoded) objects in place. */
class Compactor {
  readonly strings = new Map<string, string>();
  readonly #leaves = new Map<string, LeafMeta>();

  string(s: string): string {
    let shared = this.strings.get(s);
    if (shared === undefined) {
      // A JSON round trip is the cheap way to a flat copy: it never returns the slice itself.
      shared = s.length < MIN_SLICE_LENGTH ? s : JSON.parse(JSON.stringify(s)) as string;
      this.strings.set(s, shared);
    }
    return shared;
  }

  nullable<T extends string | null>(s: T): T {
    return (typeof s === 'string' ? this.string(s) : s) as T;
  }

  value(v: JsonValue): JsonValue {
    if (typeof v === 'string') return this.string(v);
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.value(v[i]!);
      return v;
    }
    return this.object(v);
  }

  object(o: JsonObject): JsonObject {
    return this.#each<JsonValue, JsonObject>(o, (v) => this.value(v));
  }

  /** A computed delta: its leaves are desired's already; only empty objects are left to share. */
  shared(o: JsonObject): JsonObject {
    return this.#each<JsonValue, JsonObject>(o, (v) => (isPlainObject(v) ? this.shared(v) : v));
  }

  /**
   * Walks metadata alongside its document, as `updateMetadata` does: a key whose document value
   * is an object maps to a subtree, any other to a leaf (a document may have a key "updatedAt").
   */
  metadata(meta: MetadataTree, doc: JsonObject): MetadataTree {
    return this.#each<LeafMeta | MetadataTree, MetadataTree>(meta, (m, key) => {
      const d = hasOwn(doc, key) ? doc[key] : undefined;
      if (d !== undefined && isPlainObject(d) && isPlainObject(m)) return this.metadata(m as MetadataTree, d);
      if (isLeaf(m)) return this.#leaf(m.updatedAt);
      return this.value(m as unknown as JsonValue) as unknown as LeafMeta; // not ours to judge: kept, only compacted
    });
  }

  /** Replaces each own value of `o` in place by `next(value)`; the shared empty object when it has none. */
  #each<V, T extends Record<string, V>>(o: T, next: (value: V, key: string) => V): T {
    let empty = true;
    for (const key in o) {
      if (!hasOwn(o, key)) continue;
      empty = false;
      const v = o[key]!;
      const n = next(v, key);
      if (n !== v) setOwn<V>(o, key, n);
    }
    return empty ? (EMPTY as T) : o;
  }

  #leaf(updatedAt: string): LeafMeta {
    const at = this.string(updatedAt);
    let leaf = this.#leaves.get(at);
    if (leaf === undefined) {
      leaf = { updatedAt: at };
      this.#leaves.set(at, leaf);
    }
    return leaf;
  }
}

function isLeaf(m: unknown): m is LeafMeta {
  if (!isPlainObject(m) || typeof m['updatedAt'] !== 'string') return false;
  for (const key in m) if (key !== 'updatedAt') return false;
  return true;
}
