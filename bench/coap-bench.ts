/**
 * CoAP reported updates against their ceilings: confirmable PUT merge patches (CBOR) over many
 * twins, K in flight, every Doppel reply sent after its LevelDB commit with fsync on (`--sync
 * true`, the default), and the same load against a bare node-coap server answering 2.04, a raw
 * dgram echo, and the durable floors (bench/floor-level.ts, bench/floor-log.ts: UDP plus only the
 * storage stack, each 2.04 after its commit), in the same run. The servers take turns run by run
 * (each measured alone, the others idle), so a machine whose load or disk drifts during the run
 * hits all alike. Each figure is the median of `runs` runs, with min–max, latency percentiles and
 * the server's CPU per request (the load generator shares the two cores); Doppel's and the
 * floors' also give commits per fsync (per batch, for the floor without fsync).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { percentile } from './http-load.ts';
import { fdatasyncLatency, fmtFsync } from './floor-fdatasync.ts';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface Figure { rps: number[]; p50: number[]; p99: number[]; p999: number[]; cpuUs: number[]; commitsPerBatch: number[] }
export type Target = 'doppel' | 'node-coap' | 'dgram echo' | 'durable floor (LevelDB)' | 'durable floor (append log)' | 'floor (LevelDB, no fsync)';
export interface CoapResults { inFlight: number[]; figures: Record<Target, Figure[]> }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const TARGETS: Target[] = ['doppel', 'node-coap', 'dgram echo', 'durable floor (LevelDB)', 'durable floor (append log)', 'floor (LevelDB, no fsync)'];
const BASELINES: Partial<Record<Target, string[]>> = {
  'node-coap': ['baseline-coap.js'],
  'dgram echo': ['baseline-echo.js'],
  'durable floor (LevelDB)': ['floor-level.js', '--sync', 'true'],
  'durable floor (append log)': ['floor-log.js'],
  'floor (LevelDB, no fsync)': ['floor-level.js', '--sync', 'false'],
};
const emptyFigure = (): Figure => ({ rps: [], p50: [], p99: [], p999: [], cpuUs: [], commitsPerBatch: [] });

/** Batches and commits the store has written so far (Doppel's /metrics, or a floor's); null for the baselines. */
async function storeCounts(server: Started): Promise<{ batches: number; commits: number } | null> {
  if (server.port === 0) return null;
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { batches: value('doppel_store_batch_ops_count'), commits: value('doppel_store_commits_total') };
}

async function measureOnce(server: Started, datagrams: Buffer[], inFlight: number, seconds: number, fig: Figure): Promise<void> {
  const s0 = await storeCounts(server);
  const c0 = await cpuSeconds(server.child.pid!);
  const res = await runCoapLoad({ port: server.coapPort, datagrams, inFlight, seconds });
  const c1 = await cpuSeconds(server.child.pid!);
  const s1 = await storeCounts(server);
  const ok = res.codes.get(0x44) ?? 0;
  if (ok !== res.replies) throw new Error(`${res.replies - ok} replies other than 2.04`);
  const sorted = res.latenciesMs.sort((a, b) => a - b);
  fig.rps.push(ok / res.seconds);
  fig.p50.push(percentile(sorted, 50));
  fig.p99.push(percentile(sorted, 99));
  fig.p999.push(percentile(sorted, 99.9));
  fig.cpuUs.push(((c1 - c0) * 1e6) / ok);
  if (s0 !== null && s1 !== null) fig.commitsPerBatch.push((s1.commits - s0.commits) / (s1.batches - s0.batches));
}

export const fmtFigure = (f: Figure, per = 'fsync') =>
  `${Math.round(median(f.rps))}/s (${Math.round(Math.min(...f.rps))}–${Math.round(Math.max(...f.rps))}), p50 ${median(f.p50).toFixed(2)} / p99 ${median(f.p99).toFixed(2)} / p99.9 ${median(f.p999).toFixed(2)} ms, ${Math.round(median(f.cpuUs))} µs CPU${f.commitsPerBatch.length > 0 ? `, ${median(f.commitsPerBatch).toFixed(1)} commits per ${per}` : ''}`;

/** Starts every target: Doppel (seeded through its API, giving the datagrams) and the baselines and floors as scripts. */
async function startTargets(dir: string, opts: { twins: number; flags?: string[] }, servers: Partial<Record<Target, Started>>): Promise<Buffer[]> {
  servers.doppel = await startDoppel('node', dir, ['--sync', 'true', ...(opts.flags ?? [])]);
  process.stdout.write(`coap: seeding ${opts.twins} twins with device tokens… `);
  const datagrams = coapUpdateDatagrams(await seedDevices(servers.doppel.port, opts.twins, 'c-'), 'c-');
  process.stdout.write('done\n');
  for (const [i, t] of TARGETS.entries()) {
    const [script, ...args] = BASELINES[t] ?? [];
    if (script === undefined) continue;
    const own = join(dir, `target-${i}`);
    await mkdir(own);
    servers[t] = await start(process.execPath, [join(import.meta.dirname, script), ...args, ...(script.startsWith('floor-') ? ['--dir', own] : [])]);
  }
  return datagrams;
}

export async function coapUpdates(opts: { twins: number; seconds: number; runs: number; inFlight: number[]; flags?: string[]; fsyncSeconds?: number; log: (line: string) => void }): Promise<CoapResults> {
  const figures = Object.fromEntries(TARGETS.map((t): [Target, Figure[]] => [t, []])) as Record<Target, Figure[]>;
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-coap-'));
  const servers: Partial<Record<Target, Started>> = {};
  try {
    const datagrams = await startTargets(dir, opts, servers);
    // Warm-up: every twin once (its actor resident, its token verified), as in a fleet that reports
    // periodically; the cold path is measured by the scale scenario.
    for (const t of TARGETS) await runCoapLoad({ port: servers[t]!.coapPort, datagrams, inFlight: 16, seconds: 60, maxRequests: datagrams.length });
    for (const k of opts.inFlight) {
      const row = Object.fromEntries(TARGETS.map((t) => [t, emptyFigure()])) as Record<Target, Figure>;
      for (let r = 0; r < opts.runs; r++) for (const t of TARGETS) await measureOnce(servers[t]!, datagrams, k, opts.seconds, row[t]);
      for (const t of TARGETS) figures[t].push(row[t]);
    }
  } finally {
    for (const t of TARGETS) if (servers[t] !== undefined) await stop(servers[t]);
    await rm(dir, { recursive: true, force: true });
  }
  opts.log(`\n| in flight | Doppel (persisted, fsync on) | bare node-coap | raw dgram echo | Doppel / node-coap | Doppel / echo |`);
  opts.log('|---|---|---|---|---|---|');
  opts.inFlight.forEach((k, i) => {
    const [d, n, e] = [figures.doppel[i]!, figures['node-coap'][i]!, figures['dgram echo'][i]!];
    opts.log(`| ${k} | ${fmtFigure(d)} | ${fmtFigure(n)} | ${fmtFigure(e)} | ${(median(d.rps) / median(n.rps)).toFixed(2)} | ${(median(d.rps) / median(e.rps)).toFixed(2)} |`);
  });
  logFloors(opts.inFlight, figures, opts.log);
  if (opts.fsyncSeconds !== undefined) {
    opts.log(`\nThis disk alone (bench/floor-fdatasync.ts, 8 KiB write + fdatasync in a loop, ${opts.fsyncSeconds} s each, after the servers stopped):\n`);
    for (const mode of ['append', 'overwrite'] as const) opts.log(`- ${fmtFsync(await fdatasyncLatency(mode, opts.fsyncSeconds))}`);
  }
  return { inFlight: opts.inFlight, figures };
}

/**
 * The durable floors beside Doppel and the echo: how much of the gap to the echo UDP plus the
 * storage stack and the disk already take (floor / echo), and how much is Doppel's (Doppel / floor).
 */
function logFloors(inFlight: number[], figures: Record<Target, Figure[]>, log: (line: string) => void): void {
  const rows: Target[] = ['dgram echo', 'durable floor (append log)', 'durable floor (LevelDB)', 'floor (LevelDB, no fsync)', 'doppel'];
  log('\nDurable floors: the same reports against UDP plus only the storage stack, each 2.04 after its commit (the two records Doppel writes per report, through its group commit; bench/floor-level.ts, bench/floor-log.ts).\n');
  log('| in flight | server | figure | / echo |');
  log('|---|---|---|---|');
  inFlight.forEach((k, i) => {
    const echo = median(figures['dgram echo'][i]!.rps);
    for (const t of rows) log(`| ${k} | ${t} | ${fmtFigure(figures[t][i]!, t === 'floor (LevelDB, no fsync)' ? 'batch' : 'fsync')} | ${(median(figures[t][i]!.rps) / echo).toFixed(2)} |`);
  });
  log('\n| in flight | floor (LevelDB) / echo | Doppel / echo | Doppel / floor (LevelDB) | floor (append log) / echo | Doppel / floor (append log) |');
  log('|---|---|---|---|---|---|');
  inFlight.forEach((k, i) => {
    const rps = (t: Target) => median(figures[t][i]!.rps);
    const r = (a: number, b: number) => (a / b).toFixed(2);
    const [e, lv, lg, d] = [rps('dgram echo'), rps('durable floor (LevelDB)'), rps('durable floor (append log)'), rps('doppel')];
    log(`| ${k} | ${r(lv, e)} | ${r(d, e)} | ${r(d, lv)} | ${r(lg, e)} | ${r(d, lg)} |`);
  });
}

export const medianRps = (f: Figure) => median(f.rps);
