import { fail } from '../errors.ts';
import { isEmptyObject, isPlainObject, setOwn } from './json.ts';
import type { Connection, DeviceView, PublicTwin, TwinState } from './types.ts';

const hasOwn = Object.hasOwn;

/**
 * The twin as integrators see it (CONTRACT §1). Shares the state's documents by reference.
 *
 * @example
 * toPublicTwin(state, { online: true, via: 'coap', lastSeenAt: now }).sync; // { inSync: true }
 */
export function toPublicTwin(state: TwinState, connection: Connection): PublicTwin {
  const inSync = isEmptyObject(state.delta);
  return {
    id: state.id,
    version: state.version,
    desired: state.desired,
    reported: state.reported,
    delta: state.delta,
    tags: state.tags,
    metadata: state.metadata,
    sync: state.pendingSince === null ? { inSync } : { inSync, pendingSince: state.pendingSince },
    connection,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

/**
 * What a device sees of its own twin: no tags, no metadata.
 *
 * @example
 * toDeviceView(state); // { version, desired, reported, delta }
 */
export function toDeviceView(state: TwinState): DeviceView {
  return { version: state.version, desired: state.desired, reported: state.reported, delta: state.delta };
}

/** The top-level fields of a PublicTwin, in the order the twin shows them. */
export const TWIN_FIELDS = [
  'id', 'version', 'desired', 'reported', 'delta', 'tags', 'metadata', 'sync', 'connection', 'createdAt', 'updatedAt',
] as const satisfies readonly (keyof PublicTwin)[];

// Fails to compile if PublicTwin gains a field that TWIN_FIELDS does not list.
type NoneMissing<T extends never> = T;
type TwinFieldsComplete = NoneMissing<Exclude<keyof PublicTwin, (typeof TWIN_FIELDS)[number]>>;
const TOP_LEVEL: ReadonlySet<string> = new Set<string>(TWIN_FIELDS);

/**
 * Picks fields of a twin: each entry is a top-level field or a dot path into it (`desired.temp`).
 * The result nests the selected paths as in the twin; paths that do not exist (or that run into
 * an array or a scalar) are left out. An unknown top-level field is `invalid_request`.
 *
 * @example
 * selectFields(twin, ['version', 'desired.temp']); // { version: 17, desired: { temp: 21 } }
 */
export function selectFields(twin: PublicTwin, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Objects built here may get more keys; anything else in `out` is the twin's own and is shared.
  const built = new Set<object>();
  for (const field of fields) {
    const path = field.split('.');
    const top = path[0]!;
    if (!TOP_LEVEL.has(top)) {
      throw fail('invalid_request', `Unknown field ${JSON.stringify(top)}: expected one of ${TWIN_FIELDS.join(', ')}`);
    }
    if (path.includes('')) throw fail('invalid_request', `Invalid field ${JSON.stringify(field)}: empty path segment`);
    let value: unknown = twin[top as keyof PublicTwin];
    for (let i = 1; i < path.length && value !== undefined; i++) {
      const key = path[i]!;
      value = isPlainObject(value) && hasOwn(value, key) ? value[key] : undefined;
    }
    if (value !== undefined) place(out, path, value, built);
  }
  return out;
}

function place(out: Record<string, unknown>, path: string[], value: unknown, built: Set<object>): void {
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const existing = hasOwn(node, key) ? node[key] : undefined;
    if (existing === undefined) {
      const child: Record<string, unknown> = {};
      built.add(child);
      setOwn(node, key, child);
      node = child;
    } else if (built.has(existing as object)) {
      node = existing as Record<string, unknown>;
    } else {
      return; // a shorter path already selected this whole subtree
    }
  }
  setOwn(node, path[path.length - 1]!, value);
}
