/**
 * The floor under every durable commit on this machine: one write plus one fdatasync, in a loop,
 * nothing else. `append` grows the file as a log does (each fdatasync also commits the new size to
 * the filesystem journal); `overwrite` rewrites a block of an already written file (data only), the
 * best a preallocated log could get. Each write is 8 KiB, about one batch of 16 reports in flight.
 *
 * `node dist/bench/floor-fdatasync.js [--seconds 10]` prints both; the coap scenario calls it too.
 */
import { fdatasync, open, close, write } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { percentile } from './http-load.ts';

const [openFd, writeFd, fdatasyncFd, closeFd] = [promisify(open), promisify(write), promisify(fdatasync), promisify(close)];
const WRITE_BYTES = 8192;

export interface FsyncLatency { mode: 'append' | 'overwrite'; syncs: number; mean: number; p50: number; p99: number; p999: number }

/** Writes and fdatasyncs in a loop for `seconds` in a temp dir under `parent`; latency per write+fdatasync. */
export async function fdatasyncLatency(mode: FsyncLatency['mode'], seconds: number, parent = tmpdir()): Promise<FsyncLatency> {
  const dir = await mkdtemp(join(parent, 'doppel-fdatasync-'));
  const fd = await openFd(join(dir, 'probe'), mode === 'append' ? 'a' : 'w');
  const block = Buffer.alloc(WRITE_BYTES, 0x5a);
  const ms: number[] = [];
  try {
    if (mode === 'overwrite') { await writeFd(fd, block, 0, WRITE_BYTES, 0); await fdatasyncFd(fd); }
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      if (mode === 'append') await writeFd(fd, block);
      else await writeFd(fd, block, 0, WRITE_BYTES, 0);
      await fdatasyncFd(fd);
      ms.push(performance.now() - t0);
    }
  } finally {
    await closeFd(fd);
    await rm(dir, { recursive: true, force: true });
  }
  ms.sort((a, b) => a - b);
  // The mean is what bounds throughput (a closed loop waits for every sync, tail included).
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return { mode, syncs: ms.length, mean, p50: percentile(ms, 50), p99: percentile(ms, 99), p999: percentile(ms, 99.9) };
}

export const fmtFsync = (f: FsyncLatency) =>
  `${f.mode}: ${f.syncs} write+fdatasync in a row, mean ${f.mean.toFixed(2)} / p50 ${f.p50.toFixed(2)} / p99 ${f.p99.toFixed(2)} / p99.9 ${f.p999.toFixed(2)} ms`;

if (process.argv[1]?.endsWith('floor-fdatasync.js')) {
  const at = process.argv.indexOf('--seconds');
  const seconds = at >= 0 ? Number(process.argv[at + 1]) : 10;
  for (const mode of ['append', 'overwrite'] as const) console.log(fmtFsync(await fdatasyncLatency(mode, seconds)));
}
