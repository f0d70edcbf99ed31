/**
 * CoAP reported updates against their ceilings: confirmable PUT merge patches (CBOR) over many
 * twins, K in flight, every Doppel reply sent after its LevelDB commit, and the same load against
 * a bare node-coap server answering 2.04 and a raw dgram echo, in the same run. One server at a
 * time; each figure is the median of `runs` runs, with min–max, latency percentiles and the
 * server's CPU per request (the load generator shares the two cores).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { percentile } from './http-load.ts';
import { seedDevices } from './seed.ts';
import { cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface Figure { rps: number[]; p50: number[]; p99: number[]; p999: number[]; cpuUs: number[] }
export type Target = 'doppel' | 'node-coap' | 'dgram echo';
export interface CoapResults { inFlight: number[]; figures: Record<Target, Figure[]> }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(server: Started, datagrams: Buffer[], inFlight: number, seconds: number, runs: number): Promise<Figure> {
  const fig: Figure = { rps: [], p50: [], p99: [], p999: [], cpuUs: [] };
  // Warm-up: every twin once (its actor resident, its token verified), as in a fleet that reports
  // periodically; the cold path is measured by the scale scenario.
  await runCoapLoad({ port: server.coapPort, datagrams, inFlight, seconds: 60, maxRequests: datagrams.length });
  for (let r = 0; r < runs; r++) {
    const c0 = await cpuSeconds(server.child.pid!);
    const res = await runCoapLoad({ port: server.coapPort, datagrams, inFlight, seconds });
    const c1 = await cpuSeconds(server.child.pid!);
    const ok = res.codes.get(0x44) ?? 0;
    if (ok !== res.replies) throw new Error(`${res.replies - ok} replies other than 2.04`);
    const sorted = res.latenciesMs.sort((a, b) => a - b);
    fig.rps.push(ok / res.seconds);
    fig.p50.push(percentile(sorted, 50));
    fig.p99.push(percentile(sorted, 99));
    fig.p999.push(percentile(sorted, 99.9));
    fig.cpuUs.push(((c1 - c0) * 1e6) / ok);
  }
  return fig;
}

export const fmtFigure = (f: Figure) =>
  `${Math.round(median(f.rps))}/s (${Math.round(Math.min(...f.rps))}–${Math.round(Math.max(...f.rps))}), p50 ${median(f.p50).toFixed(2)} / p99 ${median(f.p99).toFixed(2)} / p99.9 ${median(f.p999).toFixed(2)} ms, ${Math.round(median(f.cpuUs))} µs CPU`;

export async function coapUpdates(opts: { twins: number; seconds: number; runs: number; inFlight: number[]; flags?: string[]; log: (line: string) => void }): Promise<CoapResults> {
  const figures: Record<Target, Figure[]> = { doppel: [], 'node-coap': [], 'dgram echo': [] };
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-coap-'));
  let datagrams: Buffer[] = [];
  try {
    const doppel = await startDoppel('node', dir, opts.flags ?? []);
    try {
      process.stdout.write(`coap: seeding ${opts.twins} twins with device tokens… `);
      const tokens = await seedDevices(doppel.port, opts.twins, 'c-');
      process.stdout.write('done\n');
      datagrams = coapUpdateDatagrams(tokens, 'c-');
      for (const k of opts.inFlight) figures.doppel.push(await measure(doppel, datagrams, k, opts.seconds, opts.runs));
    } finally {
      await stop(doppel);
    }
    for (const [target, script] of [['node-coap', 'baseline-coap.js'], ['dgram echo', 'baseline-echo.js']] as const) {
      const server = await start(process.execPath, [join(import.meta.dirname, script)]);
      try {
        for (const k of opts.inFlight) figures[target].push(await measure(server, datagrams, k, opts.seconds, opts.runs));
      } finally {
        await stop(server);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  opts.log(`\n| in flight | Doppel (persisted) | bare node-coap | raw dgram echo | Doppel / node-coap | Doppel / echo |`);
  opts.log('|---|---|---|---|---|---|');
  opts.inFlight.forEach((k, i) => {
    const [d, n, e] = [figures.doppel[i]!, figures['node-coap'][i]!, figures['dgram echo'][i]!];
    opts.log(`| ${k} | ${fmtFigure(d)} | ${fmtFigure(n)} | ${fmtFigure(e)} | ${(median(d.rps) / median(n.rps)).toFixed(2)} | ${(median(d.rps) / median(e.rps)).toFixed(2)} |`);
  });
  return { inFlight: opts.inFlight, figures };
}

export const medianRps = (f: Figure) => median(f.rps);
