/**
 * What each accepted command commits, as store ops: pure, so the twin actor only orders messages,
 * runs these, commits the ops in one batch and publishes (a strategy per command, as in Ditto).
 * Changes come from `planCreate`/`planPatch` (document.ts); removal, device credentials and
 * history retention are planned here.
 */
import { fail } from '../errors.ts';
import { pendingIndexOps } from '../store/pending-index.ts';
import type { StoreOp, StoredCredential } from '../store/types.ts';
import type { ChangeEvent, TwinState } from './types.ts';

/**
 * History versions that leave history when `version` is committed: each twin keeps its newest
 * `retention` events, so the one `retention` versions back goes (one per change keeps it exact).
 */
export function expiredVersions(version: number, retention: number): number[] {
  const expired = version - retention;
  return expired > 0 ? [expired] : [];
}

/**
 * The ops of an accepted change (`before` is null for a create): the twin, its event, the pending
 * index, and the event that leaves history.
 *
 * @example
 * const plan = planPatch(state, patch, ctx);
 * if (plan !== null) await store.commit(changeOps(state, plan, 1000));
 */
export function changeOps(before: TwinState | null, change: { state: TwinState; event: ChangeEvent }, retention: number): StoreOp[] {
  const { state, event } = change;
  const ops: StoreOp[] = [{ type: 'putTwin', twin: state }, { type: 'putEvent', event }, ...pendingIndexOps(before, state)];
  for (const version of expiredVersions(event.version, retention)) ops.push({ type: 'deleteEvent', twin: state.id, version });
  return ops;
}

/**
 * Removal of a twin (if still at `ifVersion`, when given): beyond the store's own ops deleting the
 * twin and its whole history (`TwinStore.deleteTwinOps`, which go first in the batch), its device
 * credential and its pending-index entry. Checked before the store is read, so a conflict costs
 * no history scan. Returns the revoked credential id, for the caller to forget from its caches.
 */
export function planRemoval(state: TwinState, ifVersion: number | undefined): { ops: StoreOp[]; revokedTokenId: string | null } {
  if (ifVersion !== undefined && ifVersion !== state.version) {
    throw fail('version_conflict', `Version conflict on twin "${state.id}": expected ${ifVersion}, current is ${state.version}`,
      { expected: ifVersion, actual: state.version });
  }
  const ops: StoreOp[] = [];
  if (state.tokenId !== null) ops.push({ type: 'deleteCredential', kind: 'device', id: state.tokenId });
  ops.push(...pendingIndexOps(state, null));
  return { ops, revokedTokenId: state.tokenId };
}

/**
 * A new device credential for the twin: stored, named on the twin, and the previous one revoked in
 * the same batch, so exactly one device token works at any time. Not a change: no version, no event.
 */
export function planDeviceCredential(state: TwinState, credential: StoredCredential): { state: TwinState; ops: StoreOp[]; revokedTokenId: string | null } {
  const next: TwinState = { ...state, tokenId: credential.id };
  const ops: StoreOp[] = [{ type: 'putCredential', credential }, { type: 'putTwin', twin: next }];
  if (state.tokenId !== null) ops.push({ type: 'deleteCredential', kind: 'device', id: state.tokenId });
  return { state: next, ops, revokedTokenId: state.tokenId };
}
