/**
 * How a commit's ops split up: per twin (each twin's ops become one record), per credential and
 * per job record (the last op on one wins, as it would in a LevelDB batch), and a bounded fan-out
 * to write them.
 */
import type { StoreOp } from '../types.ts';
import { twinOfOp } from './record.ts';
import type { TwinOp } from './record.ts';
import { mapLimit } from '../../map-limit.ts';

export type CredentialOp = Extract<StoreOp, { type: 'putCredential' | 'deleteCredential' }>;
export type JobOp = Extract<StoreOp, { type: 'putJob' | 'deleteJob' }>;

/** Subjects written at once by one commit (a bulk commit must not flood the connection). */
const PARALLEL_WRITES = 128;

export function groupOps(ops: StoreOp[]): { twins: Map<string, TwinOp[]>; credentials: Map<string, CredentialOp>; jobs: Map<string, JobOp> } {
  const twins = new Map<string, TwinOp[]>();
  const credentials = new Map<string, CredentialOp>();
  const jobs = new Map<string, JobOp>();
  for (const op of ops) {
    if (op.type === 'putJob') jobs.set(op.job.id, op);
    else if (op.type === 'deleteJob') jobs.set(op.id, op);
    else if (op.type === 'putCredential') credentials.set(`c:${op.credential.kind}:${op.credential.id}`, op);
    else if (op.type === 'deleteCredential') credentials.set(`c:${op.kind}:${op.id}`, op);
    else {
      const id = twinOfOp(op)!;
      const list = twins.get(id);
      if (list === undefined) twins.set(id, [op]);
      else list.push(op);
    }
  }
  return { twins, credentials, jobs };
}

/** Runs `fn` over `items` with at most PARALLEL_WRITES at once; fails with the first failure. */
export async function eachLimited<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  // Every write is attempted (a failure does not stop the others), then the first failure is thrown.
  const errors: unknown[] = [];
  await mapLimit(items, PARALLEL_WRITES, (item) => fn(item).catch((err: unknown) => { errors.push(err); }));
  if (errors.length > 0) throw errors[0];
}
