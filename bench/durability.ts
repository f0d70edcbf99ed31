/**
 * The cost of fsync (`npm run bench -- --only durability`; part of the full run): confirmable CoAP reports (16, then 64 in flight,
 * one twin per request in turn, every 2.04 sent after its LevelDB batch) against a server with
 * `--sync false` and one with `--sync true`, alternating runs so drift on a noisy machine hits
 * both alike. Reports the median of each and the cost of fsync as a share of throughput.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { seedDevices } from './seed.ts';
import { cpuSeconds, startDoppel, stop } from './server-process.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function durability(opts: { twins: number; seconds: number; runs: number; log?: (line: string) => void }): Promise<{ costShare: number }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const modes = [{ name: 'process-crash safe (--sync false)', flags: ['--sync', 'false'] }, { name: 'fsync every batch (--sync true, the default)', flags: ['--sync', 'true'] }];
  const servers = [];
  const dirs: string[] = [];
  try {
    for (const mode of modes) {
      const dir = await mkdtemp(join(tmpdir(), 'doppel-durability-'));
      dirs.push(dir);
      const server = await startDoppel('node', dir, mode.flags);
      servers.push(server);
      const tokens = await seedDevices(server.port, opts.twins, 'dur-');
      const datagrams = coapUpdateDatagrams(tokens, 'dur-');
      (server as typeof server & { datagrams: Buffer[] }).datagrams = datagrams;
      await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds: 1 }); // warm-up
    }
    let costShare = 0;
    for (const inFlight of [16, 64]) {
      const rates: number[][] = [[], []];
      const cpu: number[][] = [[], []];
      for (let run = 0; run < opts.runs; run++) {
        for (let m = 0; m < modes.length; m++) {
          const server = servers[m] as (typeof servers)[number] & { datagrams: Buffer[] };
          const c0 = await cpuSeconds(server.child.pid!);
          const r = await runCoapLoad({ port: server.coapPort, datagrams: server.datagrams, inFlight, seconds: opts.seconds });
          const c1 = await cpuSeconds(server.child.pid!);
          const ok = r.codes.get(0x44) ?? 0;
          if (ok !== r.replies) throw new Error(`${r.replies - ok} replies other than 2.04`);
          rates[m]!.push(ok / r.seconds);
          cpu[m]!.push(((c1 - c0) * 1e6) / ok);
        }
      }
      log(`\n| CoAP reports, ${inFlight} in flight, ${opts.twins} twins | median req/s (min–max of ${opts.runs}) | server CPU µs/req |`);
      log('|---|---|---|');
      modes.forEach((mode, m) => log(`| ${mode.name} | ${Math.round(median(rates[m]!))} (${Math.round(Math.min(...rates[m]!))}–${Math.round(Math.max(...rates[m]!))}) | ${Math.round(median(cpu[m]!))} |`));
      const share = 1 - median(rates[1]!) / median(rates[0]!);
      if (inFlight === 16) costShare = share;
      log(`\nAt ${inFlight} in flight, fsync costs ${(share * 100).toFixed(0)}% of CoAP update throughput in this run.`);
    }
    return { costShare };
  } finally {
    for (const s of servers) await stop(s);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}
