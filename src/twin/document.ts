import { fail } from '../errors.ts';
import { computeDelta } from './delta.ts';
import { assertTwinId } from './ids.ts';
import { deepEqual, isEmptyObject } from './json.ts';
import { assertSectionSize, validateSection } from './limits.ts';
import { applyMergePatch } from './merge-patch.ts';
import { metadataFor, updateMetadata } from './metadata.ts';
import type { ChangeEvent, DocumentLimits, JsonObject, TwinPatch, TwinState, Via } from './types.ts';

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
 *
 * @example
 * const { state, event } = planCreate('thermo-42', { desired: { temp: 21 } }, { now, via: 'http', limits: DEFAULT_LIMITS });
 * // state.version === 1, state.delta → { temp: 21 }, event.patch → { desired: { temp: 21 } }
 */
export function planCreate(id: string, init: { desired?: unknown; tags?: unknown }, ctx: ChangeContext): { state: TwinState; event: ChangeEvent } {
  const twin = assertTwinId(id);
  const { now, limits } = ctx;
  const desiredPatch = init.desired === undefined ? undefined : validateSection(init.desired, 'desired', limits);
  const tagsPatch = init.tags === undefined ? undefined : validateSection(init.tags, 'tags', limits);
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
  if (desiredPatch !== undefined) patch.desired = desiredPatch;
  if (tagsPatch !== undefined) patch.tags = tagsPatch;
  return { state, event: eventOf(state, ctx, patch) };
}

/**
 * Plans a merge-patch write (CONTRACT §1). Validates every present section first, then the
 * expected version (`version_conflict`), then merges and checks sizes; any refusal leaves `state`
 * as it was. Returns null for an accepted no-op (no sections, or none that changes anything):
 * the caller answers the current version and emits nothing. Otherwise returns the next state
 * (version + 1; `state` is never mutated) and its change event. Unchanged parts keep their
 * references, including `delta` when its value did not change, so callers may compare with `===`.
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
  const desiredPatch = patch.desired === undefined ? undefined : validateSection(patch.desired, 'desired', limits);
  const reportedPatch = patch.reported === undefined ? undefined : validateSection(patch.reported, 'reported', limits);
  const tagsPatch = patch.tags === undefined ? undefined : validateSection(patch.tags, 'tags', limits);
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
  const metadata = desiredChanged || reportedChanged
    ? {
      desired: desiredChanged ? updateMetadata(state.metadata.desired, state.desired, desired, desiredPatch!, now) : state.metadata.desired,
      reported: reportedChanged ? updateMetadata(state.metadata.reported, state.reported, reported, reportedPatch!, now) : state.metadata.reported,
    }
    : state.metadata;
  const pendingSince = isEmptyObject(delta) ? null : isEmptyObject(state.delta) ? now : (state.pendingSince ?? now);

  const next: TwinState = {
    ...state,
    version: state.version + 1,
    desired,
    reported,
    delta,
    tags,
    metadata,
    pendingSince,
    updatedAt: now,
  };
  if (ctx.deviceContact) {
    next.lastSeenAt = now;
    next.lastSeenVia = ctx.via;
  }
  const eventPatch: TwinPatch = {};
  if (desiredPatch !== undefined) eventPatch.desired = desiredPatch;
  if (reportedPatch !== undefined) eventPatch.reported = reportedPatch;
  if (tagsPatch !== undefined) eventPatch.tags = tagsPatch;
  return { state: next, event: eventOf(next, ctx, eventPatch) };
}

function eventOf(state: TwinState, ctx: ChangeContext, patch: TwinPatch): ChangeEvent {
  const { id: twin, version, delta } = state;
  const { now: at, via, clientToken } = ctx;
  return clientToken === undefined
    ? { twin, version, at, via, patch, delta }
    : { twin, version, at, via, clientToken, patch, delta };
}
