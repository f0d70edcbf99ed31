/**
 * CoAP reported updates against their ceilings: confirmable PUT merge patches (CBOR) over many
 * twins, K in flight, every Doppel reply sent after its LevelDB commit with fsync on (`--sync
 * true`, the default), and the same load against a bare node-coap server answering 2.04 and a raw
 * dgram echo, in the same run. The three servers take turns run by run (each measured alone, the
 * others idle), so a machine whose load or disk drifts during the run hits all three alike. Each
 * figure is the median of `runs` runs, with min–max, latency percentiles and the server's CPU per
 * request (the load generator shares the two cores); Doppel's also gives commits per fsync.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { percentile } from './http-load.ts';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface Figure { rps: number[]; p50: number[]; p99: number[]; p999: number[]; cpuUs: number[]; commitsPerBatch: number[] }
export type Target = 'doppel' | 'node-coap' | 'dgram echo';
export interface CoapResults { inFlight: number[]; figures: Record<Target, Figure[]> }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const TARGETS: Target[] = ['doppel', 'node-coap', 'dgram echo'];
const emptyFigure = (): Figure => ({ rps: [], p50: [], p99: [], p999: [], cpuUs: [], commitsPerBatch: [] });

/** Batches and commits the store has written so far (Doppel's /metrics); null for the baselines. */
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

export const fmtFigure = (f: Figure) =>
  `${Math.round(median(f.rps))}/s (${Math.round(Math.min(...f.rps))}–${Math.round(Math.max(...f.rps))}), p50 ${median(f.p50).toFixed(2)} / p99 ${median(f.p99).toFixed(2)} / p99.9 ${median(f.p999).toFixed(2)} ms, ${Math.round(median(f.cpuUs))} µs CPU${f.commitsPerBatch.length > 0 ? `, ${median(f.commitsPerBatch).toFixed(1)} commits per fsync` : ''}`;

export async function coapUpdates(opts: { twins: number; seconds: number; runs: number; inFlight: number[]; flags?: string[]; log: (line: string) => void }): Promise<CoapResults> {
  const figures: Record<Target, Figure[]> = { doppel: [], 'node-coap': [], 'dgram echo': [] };
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-coap-'));
  const servers: Partial<Record<Target, Started>> = {};
  try {
    servers.doppel = await startDoppel('node', dir, ['--sync', 'true', ...(opts.flags ?? [])]);
    process.stdout.write(`coap: seeding ${opts.twins} twins with device tokens… `);
    const datagrams = coapUpdateDatagrams(await seedDevices(servers.doppel.port, opts.twins, 'c-'), 'c-');
    process.stdout.write('done\n');
    servers['node-coap'] = await start(process.execPath, [join(import.meta.dirname, 'baseline-coap.js')]);
    servers['dgram echo'] = await start(process.execPath, [join(import.meta.dirname, 'baseline-echo.js')]);
    // Warm-up: every twin once (its actor resident, its token verified), as in a fleet that reports
    // periodically; the cold path is measured by the scale scenario.
    for (const t of TARGETS) await runCoapLoad({ port: servers[t]!.coapPort, datagrams, inFlight: 16, seconds: 60, maxRequests: datagrams.length });
    for (const k of opts.inFlight) {
      const row: Record<Target, Figure> = { doppel: emptyFigure(), 'node-coap': emptyFigure(), 'dgram echo': emptyFigure() };
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
  return { inFlight: opts.inFlight, figures };
}

export const medianRps = (f: Figure) => median(f.rps);
