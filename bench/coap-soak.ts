/**
 * `npm run build --silent && node dist/bench/coap-soak.js [--seconds N] [--quick] [--inflight K]`:
 * memory under sustained CoAP and WebSocket load must stay flat. Starts the built server (LevelDB
 * in a temp dir) as a child, seeds 1,000 twins with device tokens over HTTP, opens 4 WebSocket
 * apps that follow every twin (each report fans out to all 4), then drives confirmable
 * `PUT /t/{id}/reported?token=…` from a raw `node:dgram` load generator (pre-built datagrams,
 * K in flight, message ids incrementing, each reply matched by message id) for N seconds (300;
 * `--quick`: 15), sampling the server's RSS (VmRSS, /proc/<pid>/status) every second. Prints a
 * table and a verdict: throughput, RSS at 10 s vs the end, max RSS, and whether RSS plateaued
 * (the last third's max within 15% of the middle third's).
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { generate } from 'coap-packet';
import WebSocket from 'ws';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, startDoppel, stop } from './server-process.ts';

const ADMIN = BENCH_ADMIN;
const TWINS = 1000;
/** WebSocket apps following every twin during the soak. */
const WS_APPS = 4;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

export interface SoakOptions { seconds: number; inFlight: number; flags?: string[]; log?: (line: string) => void }
export interface SoakSample { second: number; requests: number; wsEvents: number; rssMiB: number }
export interface SoakResult {
  requests: number; timeouts: number; errors: number; seconds: number; samples: SoakSample[];
  rssAt10: number; rssEnd: number; rssMax: number; middleMax: number; lastMax: number; plateau: boolean;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Pre-built confirmable PUTs, two per twin (temp 20 and 21 alternate, so every request really
 * changes the twin and is persisted). Bytes 2–3 (message id) are patched in place before sending.
 */
function datagrams(tokens: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < TWINS; i++) {
    for (const temp of [20, 21]) {
      out.push(generate({
        code: 'PUT', confirmable: true, messageId: 0, token: Buffer.from([i >> 8, i & 255, temp]),
        options: [
          { name: 'Uri-Path', value: Buffer.from('t') }, { name: 'Uri-Path', value: Buffer.from(`soak-${i}`) },
          { name: 'Uri-Path', value: Buffer.from('reported') }, { name: 'Content-Format', value: Buffer.from([50]) },
          { name: 'Uri-Query', value: Buffer.from(`token=${tokens[i]}`) },
        ],
        payload: Buffer.from(`{"temp":${temp}}`),
      }));
    }
  }
  return out;
}

export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const dir = await mkdtemp(join(tmpdir(), 'doppel-soak-'));
  const started0 = await startDoppel('node', dir, opts.flags ?? []);
  const server = { child: started0.child, http: started0.port, coap: started0.coapPort };
  const pid = server.child.pid!;
  const sockets: Socket[] = [];
  const closers: Array<() => void> = [];
  try {
    process.stdout.write(`seeding ${TWINS} twins with device tokens… `);
    const packets = datagrams(await seedDevices(server.http, TWINS, 'soak-'));
    process.stdout.write('done\n');

    // Two sockets (two endpoints), so message ids (16 bits, per endpoint) wrap half as often.
    const SOCKETS = 2;
    let requests = 0;
    let timeouts = 0;
    let errors = 0;
    let n = 0;
    /** Per socket: message id → { sent at, request index }. */
    const pending: Array<Map<number, { at: number; i: number }>> = [];
    const mids = new Array<number>(SOCKETS).fill(0);
    let running = true;
    const sendNext = (s: number) => {
      if (!running) return;
      const i = n++;
      const d = packets[i % packets.length]!;
      const mid = mids[s] = (mids[s]! + 1) & 0xffff;
      d[2] = mid >> 8;
      d[3] = mid & 255;
      pending[s]!.set(mid, { at: performance.now(), i });
      sockets[s]!.send(d, server.coap, '127.0.0.1');
    };
    for (let s = 0; s < SOCKETS; s++) {
      const sock = createSocket('udp4');
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
      pending.push(new Map());
      sock.on('message', (m) => {
        if (m.length < 4) return;
        const type = (m[0]! >> 4) & 3;
        const code = m[1]!;
        const mid = (m[2]! << 8) | m[3]!;
        if (type === 2 && code !== 0) {
          // A piggybacked reply (ACK carrying 2.04): matched by message id.
          if (!pending[s]!.delete(mid)) return; // late reply to a request already timed out
          requests++;
          if (code !== 0x44) errors++;
          sendNext(s);
        } else if (type === 0 && code !== 0) {
          // A separate (CON) response after an empty ACK: ACK it; matched by its token.
          sock.send(Buffer.from([0x60, 0, m[2]!, m[3]!]), server.coap, '127.0.0.1');
          const tkl = m[0]! & 15;
          const token = m.subarray(4, 4 + tkl);
          for (const [k, v] of pending[s]!) {
            const p = packets[v.i % packets.length]!;
            if (p.subarray(4, 4 + (p[0]! & 15)).equals(token)) {
              pending[s]!.delete(k);
              requests++;
              if (code !== 0x44) errors++;
              sendNext(s);
              break;
            }
          }
        }
      });
      sockets.push(sock);
    }

    // WebSocket load alongside: apps following every twin by prefix, so each report fans out.
    const apps: WebSocket[] = [];
    let wsEvents = 0;
    for (let i = 0; i < WS_APPS; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.http}/v1/ws`, { headers: { authorization: `Bearer ${ADMIN}` }, perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
      ws.on('message', () => { wsEvents++; });
      ws.send(JSON.stringify({ op: 'subscribe', ref: 's', prefix: 'soak-' }));
      apps.push(ws);
    }
    closers.push(() => { for (const ws of apps) ws.terminate(); });

    log(`\nload: ${opts.inFlight} confirmable PUTs in flight from ${SOCKETS} sockets, ${opts.seconds}s, ${TWINS} twins; ${WS_APPS} WebSocket apps following every twin\n`);
    log('| t (s) | CoAP req/s in that second | WebSocket events/s | server RSS (MiB) |');
    log('|---|---|---|---|');
    const samples: SoakSample[] = [];
    const started = performance.now();
    for (let k = 0; k < opts.inFlight; k++) sendNext(k % SOCKETS);
    let lastCount = 0;
    let lastEvents = 0;
    for (let second = 1; second <= opts.seconds; second++) {
      await new Promise((r) => setTimeout(r, Math.max(0, started + second * 1000 - performance.now())));
      // A request unanswered for 2 s (a datagram lost in a full socket buffer) is given up on and
      // replaced, so the number in flight stays constant.
      const now = performance.now();
      for (let s = 0; s < SOCKETS; s++) {
        for (const [mid, v] of pending[s]!) {
          if (now - v.at > 2000) { pending[s]!.delete(mid); timeouts++; sendNext(s); }
        }
      }
      const rss = await rssMiB(pid);
      samples.push({ second, requests: requests - lastCount, wsEvents: wsEvents - lastEvents, rssMiB: rss });
      lastCount = requests;
      lastEvents = wsEvents;
      log(`| ${second} | ${samples.at(-1)!.requests} | ${samples.at(-1)!.wsEvents} | ${rss.toFixed(1)} |`);
    }
    running = false;
    const seconds = (performance.now() - started) / 1000;
    const third = Math.floor(samples.length / 3);
    const maxOf = (xs: SoakSample[]) => Math.max(...xs.map((x) => x.rssMiB));
    const middleMax = maxOf(samples.slice(third, 2 * third));
    const lastMax = maxOf(samples.slice(2 * third));
    const result: SoakResult = {
      requests, timeouts, errors, seconds, samples,
      rssAt10: samples[Math.min(9, samples.length - 1)]!.rssMiB, rssEnd: samples.at(-1)!.rssMiB, rssMax: maxOf(samples),
      middleMax, lastMax, plateau: lastMax <= middleMax * 1.15,
    };
    log(`\nthroughput: ${Math.round(requests / seconds)} req/s (${requests} replies in ${seconds.toFixed(1)} s; ${errors} non-2.04, ${timeouts} timed out and replaced)`);
    log(`RSS: ${result.rssAt10.toFixed(1)} MiB at 10 s, ${result.rssEnd.toFixed(1)} MiB at the end, max ${result.rssMax.toFixed(1)} MiB`);
    log(`plateau: ${result.plateau ? 'yes' : 'no'} (max RSS ${middleMax.toFixed(1)} MiB in the middle third, ${lastMax.toFixed(1)} MiB in the last third; limit +15%)`);
    return result;
  } finally {
    for (const close of closers) close();
    for (const s of sockets) s.close();
    await stop(started0);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const seconds = Number(arg('--seconds') ?? (quick ? 15 : 300));
  const inFlight = Number(arg('--inflight') ?? 32);
  if (!(seconds >= 3) || !(inFlight >= 1 && inFlight <= 1024)) throw new Error('usage: coap-soak [--seconds N≥3] [--quick] [--inflight 1–1024]');
  console.log(`# Doppel CoAP soak (${seconds}s)`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  const r = await soak({ seconds, inFlight });
  process.exitCode = r.plateau ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) main().catch((err: unknown) => { console.error(err); process.exit(1); });
