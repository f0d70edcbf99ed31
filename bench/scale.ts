/**
 * Scale (`npm run bench -- --only scale`): seeds N twins (1,000,000; `--quick`: 20,000) through the
 * real store API (the same create plan and atomic commit the server uses, without HTTP), then
 * reports the disk size, the time from starting the server on that data to ready, the memory one
 * resident twin costs (100,000 activated by reads), and the latency of a cold activation (a read of
 * a twin not in memory).
 *
 * Memory is the difference between two moments of one server, each right after a full garbage
 * collection (asked of the server through the V8 inspector, bench/inspector.ts): otherwise garbage
 * the reads left behind counts as twins. Reads of other twins come first, so code, connections and
 * buffers that any traffic allocates once are not counted per twin either.
 *
 * Cold activations are timed twice on a restarted server: its first reads, while it still warms up
 * (code not yet optimised, the twins out of sync counted in the background), and, once it has
 * warmed up on other twins, reads of never-read twins: what an activation costs in steady state.
 * The same twins read again, now resident, give the HTTP round trip alone; the server's histogram
 * `doppel_actors_activation_seconds` gives the activation without HTTP.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createLevelStore, pendingIndexOps } from '../src/store/index.ts';
import { planCreate } from '../src/twin/index.ts';
import { percentile, runLoad } from './http-load.ts';
import type { LoadResult } from './http-load.ts';
import { connectInspector, inspectorEnv } from './inspector.ts';
import { BENCH_ADMIN, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await duBytes(path) : (await stat(path)).size;
  }
  return total;
}

async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}

const LIMITS = { desiredBytes: 32_768, reportedBytes: 32_768, tagsBytes: 8192, maxDepth: 10, maxKeyLength: 128 };

/** Seeds `n` twins `s-<i>` straight into the store at `dataDir`, `inFlight` commits at a time. */
export async function seed(dataDir: string, n: number, log: (line: string) => void): Promise<{ seconds: number; docBytes: number }> {
  const store = createLevelStore({ path: join(dataDir, 'db') });
  await store.open();
  const started = performance.now();
  let next = 0;
  let docBytes = 0;
  const at = new Date().toISOString();
  await Promise.all(Array.from({ length: 256 }, async () => {
    while (next < n) {
      const i = next++;
      const { state, event } = planCreate(`s-${i}`, { desired: { temp: 21, mode: 'eco', setpoints: [18, 21, 23] }, tags: { site: `site-${i % 100}`, floor: i % 7 } }, { now: at, via: 'http', limits: LIMITS });
      if (i === 0) docBytes = JSON.stringify(state).length;
      // The ops the twin actor commits for a create: snapshot, event, pending-index entry.
      await store.commit([{ type: 'putTwin', twin: state }, { type: 'putEvent', event }, ...pendingIndexOps(null, state)]);
      if ((i + 1) % 100_000 === 0) process.stdout.write(`  seeded ${(i + 1).toLocaleString('en')} twins…\n`);
    }
  }));
  await store.close();
  return { seconds: (performance.now() - started) / 1000, docBytes };
}

/** Prime: i → i·7919 mod N visits every twin once, in a scattered order, for any N it does not divide. */
const SCATTER = 7919;
/** Reads before a measure, of twins outside the measured ones, to warm up the server. */
const WARMUP_READS = 5000;

export async function scale(dataDir: string, opts: { twins: number; resident: number; coldSamples: number; log: (line: string) => void }): Promise<void> {
  const { log, twins } = opts;
  if (twins % SCATTER === 0) throw new Error(`the twin count must not be a multiple of ${SCATTER}`);
  const seeded = await seed(dataDir, twins, log);
  const disk = await duBytes(dataDir);
  /** `n` GETs of the twins from the `from`-th on (in scattered order), `concurrency` at a time. */
  const reads = async (port: number, from: number, n: number, concurrency: number): Promise<LoadResult> => {
    const r = await runLoad({
      port, concurrency, seconds: 600, maxRequests: n,
      request: (i) => `GET /v1/twins/s-${((from + i) * SCATTER) % twins} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\n\r\n`,
    });
    if (r.errors > 0) throw new Error(`${r.errors} reads failed`);
    return r;
  };

  const inspector = await inspectorEnv();
  const first = await startDoppel('node', dataDir, ['--max-resident-twins', String(opts.resident * 2)], inspector.env);
  const memory = await residentMemory(first, inspector.port, opts.resident, reads);
  await stop(first);

  // Started without the inspector, so the start-up figures are those of a plain start.
  const second = await startDoppel('node', dataDir);
  const ready = await readyAfter(second.port);
  const n = opts.coldSamples;
  const early = await reads(second.port, 0, n, 1);
  await outOfSyncCounted(second.port);
  await reads(second.port, n, WARMUP_READS, 16);
  const before = await metricsOf(second.port);
  const cold = await reads(second.port, n + WARMUP_READS, n, 1);
  const after = await metricsOf(second.port);
  const resident = await reads(second.port, n + WARMUP_READS, n, 1);
  await stop(second);

  const doc = seeded.docBytes;
  const perTwin = (bytes: number) => Math.round(bytes / memory.twins);
  const server = activationHistogram(before, after);
  log('| measure | value |');
  log('|---|---|');
  log(`| seed ${twins.toLocaleString('en')} twins through the store API | ${seeded.seconds.toFixed(1)} s (${Math.round(twins / seeded.seconds).toLocaleString('en')} twins/s) |`);
  log(`| disk (LevelDB, twins + first history event + pending index) | ${(disk / 2 ** 20).toFixed(0)} MiB (${Math.round(disk / twins)} bytes per twin) |`);
  log(`| start on that data: spawn → listening / → /readyz 200 | ${second.wallMs.toFixed(0)} ms / ${ready.toFixed(0)} ms (server's own ${second.startupMs} ms) |`);
  log(`| memory per resident twin, ${memory.twins.toLocaleString('en')} activated by reads; growth after a full GC of RSS / of the V8 heap | RSS ${perTwin(memory.rss)} bytes (${(memory.rss / 2 ** 20).toFixed(0)} MiB), heap ${perTwin(memory.heap)} bytes; beyond the document (~${doc} bytes as JSON): ~${perTwin(memory.rss) - doc} / ~${perTwin(memory.heap) - doc} bytes |`);
  log(`| the same, RSS without forcing a GC (garbage of the reads included) | ${perTwin(memory.rawRss)} bytes per resident twin |`);
  log(`| cold activation: GET of a twin not in memory, one at a time, end to end (${n} never-read twins, after ${WARMUP_READS.toLocaleString('en')} warm-up reads of others) | ${quantiles(cold)} |`);
  log(`| the server's part: store read, decode, compaction (\`doppel_actors_activation_seconds\`, bucket bounds) | mean ${server.meanMs.toFixed(3)} ms, p50 ≤ ${server.p50Ms} ms, p99 ≤ ${server.p99Ms} ms |`);
  log(`| the same twins again, now resident: the HTTP round trip alone | ${quantiles(resident)} |`);
  log(`| cold activation right after a restart (its first ${n} reads, the server still warming up) | ${quantiles(early)} |`);
}

/**
 * Activates `resident` twins by reads (16 connections) and measures what the server grew by, after
 * a full GC at both ends; first it lets the start-up count finish and warms up on other twins.
 */
async function residentMemory(
  server: Started, inspectorPort: number, resident: number,
  reads: (port: number, from: number, n: number, concurrency: number) => Promise<LoadResult>,
): Promise<{ twins: number; rss: number; heap: number; rawRss: number }> {
  const pid = server.child.pid!;
  const inspector = await connectInspector(inspectorPort);
  try {
    await outOfSyncCounted(server.port);
    await reads(server.port, resident, Math.min(WARMUP_READS, resident), 16);
    const moment = async () => {
      const raw = await rssBytes(pid);
      const heap = await inspector.heapAfterGc();
      return { raw, heap, rss: await rssBytes(pid), resident: gauge(await metricsOf(server.port), 'doppel_actors_resident') };
    };
    const before = await moment();
    await reads(server.port, 0, resident, 16);
    const after = await moment();
    return { twins: after.resident - before.resident, rss: after.rss - before.rss, heap: after.heap - before.heap, rawRss: after.raw - before.raw };
  } finally {
    inspector.close();
  }
}

const quantiles = (r: LoadResult) => {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`;
};

async function metricsOf(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function gauge(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
}

/** Waits until the server has counted its twins out of sync (a startup scan it runs in the background). */
async function outOfSyncCounted(port: number): Promise<void> {
  while (Number.isNaN(gauge(await metricsOf(port), 'doppel_twins_out_of_sync'))) await new Promise((r) => setTimeout(r, 50));
}

/** The activation histogram between two scrapes: its mean, and the bucket bounds of p50 and p99. */
function activationHistogram(before: string, after: string): { meanMs: number; p50Ms: number; p99Ms: number } {
  const name = 'doppel_actors_activation_seconds';
  const buckets = (text: string) => [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])] as const);
  const b0 = buckets(before);
  const delta = buckets(after).map(([le, n], i) => [le, n - (b0[i]?.[1] ?? 0)] as const);
  const count = gauge(after, `${name}_count`) - gauge(before, `${name}_count`);
  const bound = (p: number) => (delta.find(([, n]) => n >= (p / 100) * count)?.[0] ?? NaN) * 1000;
  return { meanMs: ((gauge(after, `${name}_sum`) - gauge(before, `${name}_sum`)) / count) * 1000, p50Ms: bound(50), p99Ms: bound(99) };
}

/** Milliseconds from now until /readyz answers 200 (the server is already listening). */
async function readyAfter(port: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
}
