/**
 * What a server's own CPU per report costs on top of the durable floor: the LevelDB floor
 * (bench/floor-level.ts) as is, and with N µs of synchronous work per request before it persists
 * (`--cpu-us`), runs alternating. In a closed loop the reports of one fsync come back together, so
 * each report's work runs one after another while the disk waits, and the disk waits while they
 * do: per-report CPU adds to every round, in-flight times over. Compare with Doppel's CPU per
 * report in the coap scenario.
 *
 * `node dist/bench/floor-cpu.js [--runs 7] [--seconds 2] [--spins 0,70,140]`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { flag } from './floor-coap.ts';
import { percentile } from './http-load.ts';
import { cpuSeconds, start, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Commits and batches so far, from the floor's /metrics. */
async function counts(s: Started): Promise<{ commits: number; batches: number }> {
  const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { commits: value('doppel_store_commits_total'), batches: value('doppel_store_batch_ops_count') };
}

async function main(): Promise<void> {
  const runs = Number(flag('runs', '7'));
  const seconds = Number(flag('seconds', '2'));
  const spins = flag('spins', '0,70,140').split(',').map(Number);
  // Tokens are not checked by the floor; 10,000 twins as in the coap scenario.
  const datagrams = coapUpdateDatagrams(Array.from({ length: 10_000 }, (_, i) => `t${i}`), 'c-');
  const dir = await mkdtemp(join(tmpdir(), 'doppel-floor-cpu-'));
  const servers: Started[] = [];
  try {
    for (const us of spins) servers.push(await start(process.execPath, [join(import.meta.dirname, 'floor-level.js'), '--dir', join(dir, `cpu-${us}`), '--cpu-us', String(us)]));
    for (const s of servers) await runCoapLoad({ port: s.coapPort, datagrams, inFlight: 16, seconds: 60, maxRequests: datagrams.length });
    for (const inFlight of [16, 64]) {
      const rows = spins.map(() => ({ rps: [] as number[], perFsync: [] as number[], cpuUs: [] as number[], p99: [] as number[] }));
      for (let r = 0; r < runs; r++) {
        for (const [i, s] of servers.entries()) {
          const [n0, c0] = [await counts(s), await cpuSeconds(s.child.pid!)];
          const res = await runCoapLoad({ port: s.coapPort, datagrams, inFlight, seconds });
          const [n1, c1] = [await counts(s), await cpuSeconds(s.child.pid!)];
          const ok = res.codes.get(0x44) ?? 0;
          if (ok !== res.replies) throw new Error(`${res.replies - ok} replies other than 2.04`);
          const row = rows[i]!;
          row.rps.push(ok / res.seconds);
          row.perFsync.push((n1.commits - n0.commits) / (n1.batches - n0.batches));
          row.cpuUs.push(((c1 - c0) * 1e6) / ok);
          row.p99.push(percentile(res.latenciesMs.sort((a, b) => a - b), 99));
        }
      }
      spins.forEach((us, i) => {
        const row = rows[i]!;
        console.log(`${inFlight} in flight, floor (LevelDB) + ${us} µs/request: ${Math.round(median(row.rps))}/s (${Math.round(Math.min(...row.rps))}–${Math.round(Math.max(...row.rps))}), ${median(row.perFsync).toFixed(1)} commits per fsync, ${Math.round(median(row.cpuUs))} µs CPU, p99 ${median(row.p99).toFixed(1)} ms`);
      });
    }
  } finally {
    for (const s of servers) await stop(s);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
