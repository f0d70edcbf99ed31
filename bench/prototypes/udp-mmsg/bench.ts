/**
 * Issue 18 prototype bench: node:dgram echo against the recvmmsg/sendmmsg echo (udp_mmsg.c).
 * `npm run build && node dist/bench/prototypes/udp-mmsg/bench.js [--seconds 3] [--pairs 3]
 * [--in-flight 1,16,64] [--no-deferred]`. Builds the addon if needed, checks every echo answers as
 * bench/baseline-echo.ts does, then runs bench/coap-load.ts at each in-flight level against each
 * server in turn (round after round, so drift hits all alike) and prints medians of reports/s,
 * p50/p99, the server's CPU µs per request, and datagrams per recvmmsg / per sendmmsg call.
 * Part 2 (unless --no-deferred): the same with ~50 µs of JS work per request and replies sent in
 * one burst per loop turn, as a server whose replies leave after a commit.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { coapDatagram, runCoapLoad } from '../../coap-load.ts';
import { percentile } from '../../http-load.ts';
import { cpuSeconds, start, stop } from '../../server-process.ts';
import type { Started } from '../../server-process.ts';
import { ensureAddon } from './build.ts';
import { sameAsBaseline, skipsAFailedDatagram, survivesOversized } from './check.ts';

interface Target { name: string; script: string; args: string[]; mmsg: boolean }
interface Row { timeouts: number; rps: number[]; p50: number[]; p99: number[]; cpuUs: number[]; perRecv: number[]; perSend: number[] }

const arg = (name: string, fallback: string) => { const i = process.argv.indexOf(name); return i < 0 ? fallback : process.argv[i + 1]!; };
const SECONDS = Number(arg('--seconds', '3'));
const PAIRS = Number(arg('--pairs', '3'));
const IN_FLIGHT = arg('--in-flight', '1,16,64').split(',').map(Number);
const here = import.meta.dirname;
const median = (xs: number[]) => xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Reports as devices send them: a CBOR merge patch with a device token, ~70 bytes. Many distinct
// buffers, because runCoapLoad patches mid and token in place and dgram sends on the next tick:
// with fewer buffers than requests in flight, the first burst would send duplicates (timeouts).
const DATAGRAMS = Array.from({ length: 512 }, (_, i) => coapDatagram({ path: ['t', `dev-${i >> 1}`, 'reported'], query: ['token=0123456789abcdef0123'], payload: Uint8Array.from([0xa1, 0x64, 0x74, 0x65, 0x6d, 0x70, 20 + (i & 1)]), format: 60 }));

/** The server's counters on demand: SIGUSR2, then its next {"msg":"stats"} line (one reader per server). */
function statsReader(server: Started): () => Promise<Record<string, number>> {
  const waiting: Array<(stats: Record<string, number>) => void> = [];
  createInterface({ input: server.child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as { msg?: string };
    if (e.msg === 'stats') waiting.shift()?.(e as Record<string, number>);
  });
  return () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no stats line within 5 s')), 5000);
    waiting.push((stats) => { clearTimeout(timer); resolve(stats); });
    server.child.kill('SIGUSR2');
  });
}

async function measure(server: Started, counters: () => Promise<Record<string, number>>, t: Target, inFlight: number, row: Row): Promise<void> {
  const k0 = t.mmsg ? await counters() : {};
  const c0 = await cpuSeconds(server.child.pid!);
  const res = await runCoapLoad({ port: server.coapPort, datagrams: DATAGRAMS, inFlight, seconds: SECONDS });
  const c1 = await cpuSeconds(server.child.pid!);
  const k1 = t.mmsg ? await counters() : {};
  const ok = res.codes.get(0x44) ?? 0;
  if (ok !== res.replies) throw new Error(`${t.name}: ${res.replies - ok} replies other than 2.04`);
  row.timeouts += res.timeouts;
  const sorted = res.latenciesMs.sort((a, b) => a - b);
  row.rps.push(ok / res.seconds);
  row.p50.push(percentile(sorted, 50));
  row.p99.push(percentile(sorted, 99));
  row.cpuUs.push(((c1 - c0) * 1e6) / ok);
  if (t.mmsg) {
    const d = (key: string) => k1[key]! - k0[key]!;
    row.perRecv.push(d('datagrams') / d('recvCalls'));
    row.perSend.push(d('sent') / d('sendCalls'));
  }
}

async function compare(title: string, targets: Target[], reference: Started): Promise<void> {
  const servers: Started[] = [];
  try {
    for (const t of targets) servers.push(await start(process.execPath, [join(here, t.script), ...t.args]));
    const readers = servers.map(statsReader);
    for (const [i, t] of targets.entries()) {
      if (t.mmsg) await survivesOversized(servers[i]!.coapPort);
      await sameAsBaseline(t.name, servers[i]!.coapPort, reference.coapPort);
      await runCoapLoad({ port: servers[i]!.coapPort, datagrams: DATAGRAMS, inFlight: 16, seconds: 1 }); // warm-up (JIT)
    }
    console.log(`\n### ${title}\n\n${SECONDS} s per run, ${PAIRS} rounds, servers in turn; medians (min–max of CPU)\n`);
    console.log('| in flight | server | reports/s | p50 / p99 ms | server CPU µs/request | datagrams per recvmmsg | datagrams per sendmmsg | timeouts |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const k of IN_FLIGHT) {
      const rows = targets.map((): Row => ({ timeouts: 0, rps: [], p50: [], p99: [], cpuUs: [], perRecv: [], perSend: [] }));
      for (let r = 0; r < PAIRS; r++) for (const [i, t] of targets.entries()) await measure(servers[i]!, readers[i]!, t, k, rows[i]!);
      for (const [i, t] of targets.entries()) {
        const f = rows[i]!;
        const cpu = `${median(f.cpuUs).toFixed(1)} (${Math.min(...f.cpuUs).toFixed(1)}–${Math.max(...f.cpuUs).toFixed(1)})`;
        const batch = (xs: number[]) => t.mmsg ? median(xs).toFixed(1) : '1 (recvmsg/sendmsg)';
        console.log(`| ${k} | ${t.name} | ${Math.round(median(f.rps))} | ${median(f.p50).toFixed(3)} / ${median(f.p99).toFixed(3)} | ${cpu} | ${batch(f.perRecv)} | ${batch(f.perSend)} | ${f.timeouts} |`);
      }
    }
  } finally {
    for (const s of servers) await stop(s);
  }
}

ensureAddon(console.log);
await skipsAFailedDatagram();
console.log(`udp-mmsg prototype bench, Node ${process.version}, ${new Date().toISOString()}`);
const reference = await start(process.execPath, [join(here, '..', '..', 'baseline-echo.js')]);
try {
  await compare('Echo: reply at once', [
    { name: 'dgram echo (bench/baseline-echo)', script: '../../baseline-echo.js', args: [], mmsg: false },
    { name: 'mmsg echo, one sendmmsg per reply', script: 'mmsg-echo.js', args: ['--send-each'], mmsg: true },
    { name: 'mmsg echo', script: 'mmsg-echo.js', args: [], mmsg: true },
  ], reference);
  if (!process.argv.includes('--no-deferred')) {
    const work = ['--work-us', '50', '--defer'];
    await compare('~50 µs JS work per request, replies sent in one burst per loop turn', [
      { name: 'dgram, deferred', script: 'dgram-echo.js', args: work, mmsg: false },
      { name: 'mmsg, deferred, one sendmmsg per reply', script: 'mmsg-echo.js', args: [...work, '--send-each'], mmsg: true },
      { name: 'mmsg, deferred', script: 'mmsg-echo.js', args: work, mmsg: true },
      { name: 'mmsg, deferred, a Buffer copy per request', script: 'mmsg-echo.js', args: [...work, '--copy'], mmsg: true },
    ], reference);
  }
} finally {
  await stop(reference);
}
