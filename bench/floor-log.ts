/**
 * The durable floor of a purpose-built write-ahead log, for Doppel's CoAP report path: the same
 * UDP endpoint and records as bench/floor-level.ts, but each batch is appended to one plain file
 * (one writev) and made durable with one fdatasync, through node:fs's fd API — no LevelDB, no
 * memtable, no compaction. Batches are gathered by the same GroupCommitWriter (same pause, same
 * limit) so only the storage below it differs. Records are framed (length, key, value) without a
 * checksum, which a real log would add: a floor errs on the cheap side. The file is replaced by a
 * fresh one every 64 MiB (as if checkpointed), so long runs do not fill the disk.
 *
 * `node dist/bench/floor-log.js --dir <empty dir>`
 */
import { close, fdatasync, open, unlink, writev } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GroupCommitWriter } from '../src/store/group-commit.ts';
import { DEFAULT_MAX_BATCH_OPS, GATHER_MS } from '../src/store/level-store.ts';
import { BatchCounts, flag, reportRecords, serveFloor } from './floor-coap.ts';

const ROLL_BYTES = 64 * 2 ** 20;

const [openFd, writevFd, fdatasyncFd, closeFd, unlinkPath] = [promisify(open), promisify(writev), promisify(fdatasync), promisify(close), promisify(unlink)];
const dir = flag('dir');
let segment = 0;
let path = join(dir, `log-${segment}`);
let fd = await openFd(path, 'a');
let written = 0;

/** length (u32) | key length (u16) | key | value */
function frame(key: string, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(6 + key.length + value.length);
  out.writeUInt32BE(2 + key.length + value.length, 0);
  out.writeUInt16BE(key.length, 4);
  out.write(key, 6, 'latin1');
  value.copy(out, 6 + key.length);
  return out;
}

async function appendBatch(frames: Buffer[]): Promise<void> {
  if (written >= ROLL_BYTES) {
    const old = path;
    await closeFd(fd);
    path = join(dir, `log-${++segment}`);
    fd = await openFd(path, 'a');
    written = 0;
    await unlinkPath(old);
  }
  const { bytesWritten } = await writevFd(fd, frames);
  written += bytesWritten;
  await fdatasyncFd(fd);
}

const counts = new BatchCounts();
const writer = new GroupCommitWriter<Buffer>({ write: appendBatch, sync: true, maxBatchOps: DEFAULT_MAX_BATCH_OPS, hooks: undefined, stats: counts, gatherMs: GATHER_MS });

serveFloor((twin, version, payload) => {
  const r = reportRecords(twin, version, payload);
  const ops = [frame(r.twinKey, r.twinValue), frame(r.eventKey, r.eventValue)];
  return writer.add({ ops, bytes: ops[0]!.length + ops[1]!.length });
}, counts, async () => {
  await writer.idle;
  await closeFd(fd);
});
