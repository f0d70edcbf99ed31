/**
 * The durable floor of Doppel's CoAP report path on LevelDB: what UDP plus Doppel's own storage
 * stack allow, with nothing else. Each confirmable PUT writes the two records Doppel writes per
 * report (twin snapshot and change event, realistic sizes: bench/floor-coap.ts) through Doppel's
 * GroupCommitWriter and writeBatchOf, over a LevelDB opened by Doppel's openLevel, with the same
 * gathering pause and batch limit as src/store/level-store.ts; the 2.04 goes out once the commit
 * resolved. `--sync true` (default) fsyncs every batch as Doppel's `--sync true` does; `--sync
 * false` is the process-crash-safe floor.
 *
 * `node dist/bench/floor-level.js --dir <empty dir> [--sync true|false]`
 */
import { join } from 'node:path';
import { GroupCommitWriter } from '../src/store/group-commit.ts';
import { openLevel } from '../src/store/level-open.ts';
import { DEFAULT_MAX_BATCH_OPS, GATHER_MS } from '../src/store/level-store.ts';
import { writeBatchOf } from '../src/store/level-write.ts';
import type { LevelOp } from '../src/store/level-write.ts';
import { BatchCounts, flag, reportRecords, serveFloor } from './floor-coap.ts';


const syncFlag = flag('sync', 'true');
if (syncFlag !== 'true' && syncFlag !== 'false') throw new Error(`--sync takes true or false: got "${syncFlag}"`);
const sync = syncFlag === 'true';
const db = await openLevel(join(flag('dir'), 'db'));
const counts = new BatchCounts();
const writer = new GroupCommitWriter<LevelOp>({ write: writeBatchOf(db), sync, maxBatchOps: DEFAULT_MAX_BATCH_OPS, hooks: undefined, stats: counts, gatherMs: sync ? GATHER_MS : 0 });

serveFloor((twin, version, payload) => {
  const r = reportRecords(twin, version, payload);
  return writer.add({
    ops: [{ type: 'put', key: r.twinKey, value: r.twinValue }, { type: 'put', key: r.eventKey, value: r.eventValue }],
    bytes: r.twinKey.length + r.twinValue.length + r.eventKey.length + r.eventValue.length,
  });
}, counts, async () => {
  await writer.idle;
  await db.close();
});
