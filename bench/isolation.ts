/**
 * Flood isolation (`npm run bench -- --isolation`): one device floods its twin with confirmable
 * CoAP PUTs (64 in flight, far over its rate limit) while another device reports at a steady
 * 50/s. The victim's latency with the flood is compared with its latency alone, in the same run.
 * The stated bound: the victim's p99 under the flood stays within 5 ms, or within 3× its p99
 * alone when that is larger. The flooder is answered 4.29 (with Max-Age) once past its burst. The flooder runs in a process
 * of its own (coap-flood.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeName, coapDatagram, runCoapLoad } from './coap-load.ts';
import type { CoapLoadResult } from './coap-load.ts';
import { percentile } from './http-load.ts';
import { seedDevices } from './seed.ts';
import { cpuSeconds, startDoppel, stop } from './server-process.ts';

const execFileAsync = promisify(execFile);


const reports = (id: string, token: string) => [20, 21].map((temp) => coapDatagram({ path: ['t', id, 'reported'], query: [`token=${token}`], payload: `{"temp":${temp}}` }));

function summary(r: CoapLoadResult): { p50: number; p99: number; codes: string } {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const codes = [...r.codes].map(([c, n]) => `${codeName(c)}×${n}`).join(', ') + (r.timeouts > 0 ? `, timeouts×${r.timeouts}` : '');
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), codes };
}

export async function isolation(opts: { seconds: number; log?: (line: string) => void }): Promise<{ withinBound: boolean }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const dir = await mkdtemp(join(tmpdir(), 'doppel-isolation-'));
  const server = await startDoppel('node', dir);
  try {
    const [victimToken, flooderToken] = await seedDevices(server.port, 2, 'dev-');
    const victim = reports('dev-0', victimToken!);
    const steady = () => runCoapLoad({ port: server.coapPort, datagrams: victim, rate: 50, seconds: opts.seconds });

    await steady(); // warm-up
    const alone = summary(await steady());
    const cpu0 = await cpuSeconds(server.child.pid!);
    // The flooder runs in a process of its own: sharing this one, its replies would delay the
    // victim's in the load generator, not in the server.
    const flooding = execFileAsync(process.execPath, [join(import.meta.dirname, 'coap-flood.js'), String(server.coapPort), 'dev-1', flooderToken!, String(opts.seconds + 1)]);
    await new Promise((r) => setTimeout(r, 500)); // the flood is under way before measuring
    const withFlood = await steady();
    const flood = JSON.parse((await flooding).stdout) as { replies: number; seconds: number; timeouts: number; codes: Array<[number, number]> };
    const cpu1 = await cpuSeconds(server.child.pid!);
    const under = summary(withFlood);
    const floodSummary = summary({ replies: flood.replies, seconds: flood.seconds, timeouts: flood.timeouts, codes: new Map(flood.codes), latenciesMs: [] });
    const bound = Math.max(5, 3 * alone.p99);
    const withinBound = under.p99 <= bound;
    const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
    log(`\n| victim (50 reports/s) | p50 | p99 | replies |`);
    log('|---|---|---|---|');
    log(`| alone | ${fmt(alone.p50)} | ${fmt(alone.p99)} | ${alone.codes} |`);
    log(`| while another device floods | ${fmt(under.p50)} | ${fmt(under.p99)} | ${under.codes} |`);
    log(`\nflooder: ${Math.round(flood.replies / flood.seconds)} replies/s (${floodSummary.codes}); server CPU ${(((cpu1 - cpu0) * 1e6) / (flood.replies + withFlood.replies)).toFixed(0)} µs per request during the flood`);
    log(`bound: victim p99 under flood ≤ max(5 ms, 3 × p99 alone) = ${fmt(bound)}: ${withinBound ? 'within' : 'EXCEEDED'}`);
    return { withinBound };
  } finally {
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}
