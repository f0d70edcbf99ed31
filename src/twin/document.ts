import { fail } from '../errors.ts';
import { computeDelta } from './delta.ts';
import { assertTwinId } from './ids.ts';
import { deepEqual, isEmptyObject, isPlainObject, setOwn } from './json.ts';
import { assertPatchSize, assertSectionSize, validateSection } from './limits.ts';
import { applyMergePatch } from './merge-patch.ts';
import { metadataFor, updateMetadata } from './metadata.ts';
import type { ChangeEvent, DocumentLimits, JsonObject, JsonValue, Section, TwinPatch, TwinState, Via } from './types.ts';

const hasOwn = Object.hasOwn;
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/** What a change needs to know beyond the patch itself. */
export interface ChangeContext {
  /** ISO-8601 time of the change. */
  now: string;
  via: Via;
  clientToken?: string;
  limits: DocumentLimits;
  /** The writer is the device itself (its token), so the change also counts as contact. */
  deviceContact?: boolean;
}

/**
 * Plans the creation of a twin: validates the id and the initial sections (absent ones are {}),
 * applies them as merge patches onto {} so nulls vanish, and returns version 1 with its event.
 * The event carries each given section as it was created (its nulls gone), which replayed onto
 * {} gives the section again.
 *
 * @example
 * const { state, event } = planCreate('thermo-42', { desired: { temp: 21 } }, { now, via: 'http', limits: DEFAULT_LIMITS });
 * // state.version === 1, state.delta → { temp: 21 }, event.patch → { desired: { temp: 21 } }
 */
export function planCreate(id: string, init: { desired?: unknown; tags?: unknown }, ctx: ChangeContext): { state: TwinState; event: ChangeEvent } {
  const twin = assertTwinId(id);
  const { now, limits } = ctx;
  const desiredPatch = init.desired === undefined ? undefined : sectionPatch(init.desired, EMPTY, 'desired', limits);
  const tagsPatch = init.tags === undefined ? undefined : sectionPatch(init.tags, EMPTY, 'tags', limits);
  const desired = desiredPatch === undefined ? {} : applyMergePatch({}, desiredPatch).value;
  const tags = tagsPatch === undefined ? {} : applyMergePatch({}, tagsPatch).value;
  assertSectionSize(desired, 'desired', limits);
  assertSectionSize(tags, 'tags', limits);
  const delta = computeDelta(desired, {});
  const state: TwinState = {
    id: twin,
    version: 1,
    desired,
    reported: {},
    delta,
    tags,
    metadata: { desired: metadataFor(desired, now), reported: {} },
    pendingSince: isEmptyObject(delta) ? null : now,
    lastSeenAt: null,
    lastSeenVia: null,
    tokenId: null,
    createdAt: now,
    updatedAt: now,
  };
  const patch: TwinPatch = {};
  if (desiredPatch !== undefined) patch.desired = desired;
  if (tagsPatch !== undefined) patch.tags = tags;
  return { state, event: eventOf(state, ctx, patch) };
}

/**
 * Plans a merge-patch write (CONTRACT §1). Validates every present section first (its shape,
 * then its own size: a patch over the section's byte limit is `too_large` before any merging),
 * then the expected version (`version_conflict`), then merges and checks the merged sizes; any
 * refusal leaves `state` as it was. Returns null for an accepted no-op (no sections, or none that
 * changes anything): the caller answers the current version and emits nothing, and no metadata
 * moves. Otherwise returns the next state (version + 1; `state` is never mutated) and its change
 * event. Unchanged parts keep their references, including `delta` when its value did not change,
 * so callers may compare with `===`.
 *
 * Metadata follows CONTRACT §1 literally ("the time each leaf was last written"): every leaf the
 * accepted patch writes in desired or reported is stamped `now`, even one written with the value
 * it had. The event's `patch` holds only the effective change of each section that changed:
 * deletions of absent keys and rewrites of equal values are left out, so history records what
 * happened, not what was sent, and `applyMergePatch(before, event.patch.desired)` is exactly the
 * new desired (likewise reported and tags; an absent section is unchanged).
 *
 * @example
 * const next = planPatch(state, { reported: { temp: 21 } }, { now, via: 'coap', limits, deviceContact: true });
 * // next?.state.version === state.version + 1, next?.event.patch → { reported: { temp: 21 } }
 */
export function planPatch(
  state: TwinState,
  patch: { desired?: unknown; reported?: unknown; tags?: unknown },
  ctx: ChangeContext & { ifVersion?: number },
): { state: TwinState; event: ChangeEvent } | null {
  const { now, limits } = ctx;
  const desiredPatch = patch.desired === undefined ? undefined : sectionPatch(patch.desired, state.desired, 'desired', limits);
  const reportedPatch = patch.reported === undefined ? undefined : sectionPatch(patch.reported, state.reported, 'reported', limits);
  const tagsPatch = patch.tags === undefined ? undefined : sectionPatch(patch.tags, state.tags, 'tags', limits);
  if (ctx.ifVersion !== undefined && ctx.ifVersion !== state.version) {
    throw fail('version_conflict', `Version conflict on twin "${state.id}": expected ${ctx.ifVersion}, current is ${state.version}`,
      { expected: ctx.ifVersion, actual: state.version });
  }

  const desired = desiredPatch === undefined ? state.desired : applyMergePatch(state.desired, desiredPatch).value;
  const reported = reportedPatch === undefined ? state.reported : applyMergePatch(state.reported, reportedPatch).value;
  const tags = tagsPatch === undefined ? state.tags : applyMergePatch(state.tags, tagsPatch).value;
  const desiredChanged = desired !== state.desired;
  const reportedChanged = reported !== state.reported;
  if (!desiredChanged && !reportedChanged && tags === state.tags) return null;
  // Unchanged sections were within their limits already; only the merged ones need measuring.
  if (desiredChanged) assertSectionSize(desired, 'desired', limits);
  if (reportedChanged) assertSectionSize(reported, 'reported', limits);
  if (tags !== state.tags) assertSectionSize(tags, 'tags', limits);

  let delta = state.delta;
  if (desiredChanged || reportedChanged) {
    const next = computeDelta(desired, reported);
    if (!deepEqual(next, delta)) delta = next;
  }
  // The patch is accepted, so each leaf it writes was written now, changed or not.
  const desiredMeta = desiredPatch === undefined
    ? state.metadata.desired : updateMetadata(state.metadata.desired, state.desired, desired, desiredPatch, now);
  const reportedMeta = reportedPatch === undefined
    ? state.metadata.reported : updateMetadata(state.metadata.reported, state.reported, reported, reportedPatch, now);
  const metadata = desiredMeta === state.metadata.desired && reportedMeta === state.metadata.reported
    ? state.metadata
    : { desired: desiredMeta, reported: reportedMeta };
  const pendingSince = isEmptyObject(delta) ? null : isEmptyObject(state.delta) ? now : (state.pendingSince ?? now);

  // Every field named, in planCreate's order (not `...state` then overrides): a spread followed by
  // more properties takes V8's generic path, which profiled as half of this function's time, and
  // the literal keeps every twin on one hidden class.
  const next: TwinState = {
    id: state.id,
    version: state.version + 1,
    desired,
    reported,
    delta,
    tags,
    metadata,
    pendingSince,
    lastSeenAt: ctx.deviceContact ? now : state.lastSeenAt,
    lastSeenVia: ctx.deviceContact ? ctx.via : state.lastSeenVia,
    tokenId: state.tokenId,
    createdAt: state.createdAt,
    updatedAt: now,
  };
  const eventPatch: TwinPatch = {};
  if (desiredChanged) eventPatch.desired = effectivePatch(state.desired, desired, desiredPatch!);
  if (reportedChanged) eventPatch.reported = effectivePatch(state.reported, reported, reportedPatch!);
  if (tags !== state.tags) eventPatch.tags = effectivePatch(state.tags, tags, tagsPatch!);
  return { state: next, event: eventOf(next, ctx, eventPatch) };
}

/** A section patch fit to merge onto `target`: valid JSON within the shape limits, and not over the size limit. */
function sectionPatch(value: unknown, target: JsonObject, section: Section, limits: DocumentLimits): JsonObject {
  const patch = validateSection(value, section, limits);
  assertPatchSize(patch, target, section, limits);
  return patch;
}

/**
 * The part of `patch` that turned `before` into `after` (its merge result): the deletions of keys
 * `before` has, and the values that differ, recursing where an object patch met an object. It
 * leans on `applyMergePatch` keeping every unchanged value by reference, so "unchanged" is one
 * `===` per key. Merged onto `before` it gives `after`; it is {} when nothing changed.
 */
function effectivePatch(before: JsonObject, after: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key in patch) {
    if (!hasOwn(patch, key)) continue;
    const p = patch[key]!;
    const b: JsonValue | undefined = hasOwn(before, key) ? before[key] : undefined;
    if (p === null) {
      if (b !== undefined) setOwn(out, key, null);
      continue;
    }
    const a = after[key]!;
    if (a === b) continue;
    // An object patch onto an object changed part of it; onto anything else it replaced it whole
    // (with `a`, the patch without its nulls), as a scalar or an array always does.
    setOwn(out, key, isPlainObject(p) && b !== undefined && isPlainObject(b) ? effectivePatch(b, a as JsonObject, p) : a);
  }
  return out;
}

function eventOf(state: TwinState, ctx: ChangeContext, patch: TwinPatch): ChangeEvent {
  const { id: twin, version, delta } = state;
  const { now: at, via, clientToken } = ctx;
  return clientToken === undefined
    ? { twin, version, at, via, patch, delta }
    : { twin, version, at, via, clientToken, patch, delta };
}

/**
 * A section patched with `null` is cleared (as `"desired": null` does in AWS IoT Device Shadow):
 * it becomes a merge patch deleting every current key, so the event shows what was removed.
 *
 * @example
 * withClearedSections({ desired: null }, state); // → { desired: { temp: null, mode: null } }
 */
export function withClearedSections<P extends { desired?: unknown; reported?: unknown; tags?: unknown }>(patch: P, state: TwinState): P {
  if (patch.desired !== null && patch.reported !== null && patch.tags !== null) return patch;
  const out = { ...patch };
  for (const section of ['desired', 'reported', 'tags'] as const) {
    if (out[section] === null) out[section] = Object.fromEntries(Object.keys(state[section]).map((k) => [k, null]));
  }
  return out;
}
