/**
 * The pending index's part of a commit: pure, from a twin's state before and after a change
 * (null: absent). A twin is indexed under its `pendingSince` while its device has not converged;
 * the entry moves only when `pendingSince` changes, so most writes add no index op at all.
 */
import type { TwinState } from '../twin/types.ts';
import type { StoreOp } from './types.ts';

const sinceOf = (state: TwinState | null): string | null => state?.pendingSince ?? null;

export function pendingIndexOps(before: TwinState | null, after: TwinState | null): StoreOp[] {
  const was = sinceOf(before);
  const now = sinceOf(after);
  if (was === now) return [];
  const id = (after ?? before)!.id;
  const ops: StoreOp[] = [];
  if (was !== null) ops.push({ type: 'deletePending', twin: id, since: was });
  if (now !== null) ops.push({ type: 'putPending', twin: id, since: now });
  return ops;
}

/** +1 when `ops` index a twin as pending, −1 when they drop one, 0 when they move one. */
export function pendingCountChange(ops: readonly StoreOp[]): number {
  let change = 0;
  for (const op of ops) {
    if (op.type === 'putPending') change++;
    else if (op.type === 'deletePending') change--;
  }
  return change;
}
