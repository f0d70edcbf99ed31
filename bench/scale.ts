/**
 * Scale (`npm run bench -- --only scale`): seeds N twins (1,000,000; `--quick`: 20,000) through the
 * real store API (the same create plan and atomic commit the server uses, without HTTP), then
 * reports the disk size, the time from starting the server on that data to ready, the memory one
 * resident twin actor costs beyond its document (100,000 activated by reads), and the latency of a
 * cold activation (a read of a twin not in memory, right after a restart).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createLevelStore, pendingIndexOps } from '../src/store/index.ts';
import { planCreate } from '../src/twin/index.ts';
import { percentile, runLoad } from './http-load.ts';
import { BENCH_ADMIN, startDoppel, stop } from './server-process.ts';

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
      if ((i + 1) % 100_000 === 0) log(`  seeded ${(i + 1).toLocaleString('en')} twins…`);
    }
  }));
  await store.close();
  return { seconds: (performance.now() - started) / 1000, docBytes };
}

export async function scale(dataDir: string, opts: { twins: number; resident: number; coldSamples: number; log: (line: string) => void }): Promise<void> {
  const { log } = opts;
  const seeded = await seed(dataDir, opts.twins, log);
  const disk = await duBytes(dataDir);

  const first = await startDoppel('node', dataDir, ['--max-resident-twins', String(opts.resident * 2)]);
  const ready = await readyAfter(first.port);
  const before = await rssBytes(first.child.pid!);
  const get = (i: number) => `GET /v1/twins/s-${(i * 7919) % opts.twins} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\n\r\n`;
  const activated = await runLoad({ port: first.port, concurrency: 16, seconds: 600, maxRequests: opts.resident, request: get });
  if (activated.errors > 0) throw new Error(`${activated.errors} reads failed`);
  const after = await rssBytes(first.child.pid!);
  const metrics = await (await fetch(`http://127.0.0.1:${first.port}/metrics`)).text();
  const resident = Number(/^doppel_actors_resident (\d+)/m.exec(metrics)?.[1] ?? NaN);
  await stop(first);

  // Cold activations: right after a restart nothing is resident; each read loads one twin.
  const second = await startDoppel('node', dataDir);
  const cold = await runLoad({ port: second.port, concurrency: 1, seconds: 600, maxRequests: opts.coldSamples, request: (i) => get(i * 31 + 17) });
  await stop(second);
  const sorted = cold.latenciesMs.sort((a, b) => a - b);

  const perTwin = (after - before) / resident;
  log('| measure | value |');
  log('|---|---|');
  log(`| seed ${opts.twins.toLocaleString('en')} twins through the store API | ${seeded.seconds.toFixed(1)} s (${Math.round(opts.twins / seeded.seconds).toLocaleString('en')} twins/s) |`);
  log(`| disk (LevelDB, twins + first history event + pending index) | ${(disk / 2 ** 20).toFixed(0)} MiB (${Math.round(disk / opts.twins)} bytes per twin) |`);
  log(`| start on that data: spawn → listening / → /readyz 200 | ${first.wallMs.toFixed(0)} ms / ${ready.toFixed(0)} ms (server's own ${first.startupMs} ms) |`);
  log(`| RSS growth with ${resident.toLocaleString('en')} resident twin actors | ${((after - before) / 2 ** 20).toFixed(0)} MiB: ${Math.round(perTwin)} bytes per resident twin, of which the document (as JSON) ~${seeded.docBytes} bytes: ~${Math.round(perTwin - seeded.docBytes)} bytes beyond it |`);
  log(`| cold activation (GET of a twin not in memory, one at a time, ${opts.coldSamples} samples) | p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms |`);
}

/** Milliseconds from now until /readyz answers 200 (the server is already listening). */
async function readyAfter(port: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
}
