/**
 * WebSocket fan-out, for Doppel and for a bare `ws` server (bench/baseline-server.ts) driven alike: (a) one writer (4 PATCHes in flight) patching 10 twins round-robin over HTTP while 100 connections
 * each subscribe to all 10 (1,000 subscriptions: every change reaches 100 connections); (b) writers
 * patching random twins of 10,000 that one connection follows by prefix. Events delivered per
 * second, and end-to-end latency from the PATCH being sent to the event arriving (the writer puts
 * its send time in the patch; writer and readers share this process's clock). Every 10th event is
 * parsed for latency, the rest only counted, so the readers cost little.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { percentile, runLoad } from './http-load.ts';
import { seedTwins } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface FanoutFigure { eventsPerSecond: number; writesPerSecond: number; p50: number; p99: number; cpuUsPerEvent: number }

async function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return ws;
}

/** Subscribes and resolves once `snapshots` snapshot frames arrived. */
function subscribe(ws: WebSocket, request: object, snapshots: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onMessage = (data: WebSocket.RawData) => {
      if (data.toString().startsWith('{"op":"snapshot"') && ++seen === snapshots) { ws.off('message', onMessage); resolve(); }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ op: 'subscribe', ref: 's', ...request }));
  });
}

/** Counts change frames on `sockets`, sampling the latency of every 10th. */
function collector(sockets: WebSocket[]): { events: () => number; latencies: number[]; stop(): void } {
  let events = 0;
  const latencies: number[] = [];
  const onMessage = (data: WebSocket.RawData) => {
    events++;
    if (events % 10 !== 0) return;
    const m = /"t":([0-9.]+)/.exec(data.toString());
    if (m !== null) latencies.push(performance.now() - Number(m[1]));
  };
  for (const ws of sockets) ws.on('message', onMessage);
  return { events: () => events, latencies, stop: () => { for (const ws of sockets) ws.off('message', onMessage); } };
}

const patch = (id: string, n: number) => {
  const body = `{"desired":{"t":${performance.now().toFixed(3)},"n":${n}}}`;
  return `PATCH /v1/twins/${id} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};

async function drive(server: Started, sockets: WebSocket[], writers: number, seconds: number, request: (i: number) => string): Promise<FanoutFigure> {
  const collect = collector(sockets);
  const c0 = await cpuSeconds(server.child.pid!);
  const load = await runLoad({ port: server.port, concurrency: writers, seconds, request });
  // Events still on the wire when the writers stop are counted for a moment more.
  await new Promise((r) => setTimeout(r, 200));
  const c1 = await cpuSeconds(server.child.pid!);
  collect.stop();
  if (load.errors > 0) throw new Error(`${load.errors} writes refused`);
  const sorted = collect.latencies.sort((a, b) => a - b);
  return {
    eventsPerSecond: collect.events() / load.seconds, writesPerSecond: load.requests / load.seconds,
    p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuUsPerEvent: ((c1 - c0) * 1e6) / Math.max(1, collect.events()),
  };
}

export async function fanout(server: Started, opts: { connections: number; twins: number; manyTwins: number; seconds: number }): Promise<{ wide: FanoutFigure; many: FanoutFigure }> {
  const ids = Array.from({ length: opts.twins }, (_, i) => `f-${i}`);
  await seedTwins(server.port, opts.twins, 'f-');
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < opts.connections; i++) sockets.push(await open(server.port));
    await Promise.all(sockets.map((ws) => subscribe(ws, { twins: ids }, ids.length)));
    const wide = await drive(server, sockets, 4, opts.seconds, (i) => patch(ids[i % ids.length]!, i));

    await seedTwins(server.port, opts.manyTwins, 'w-');
    const one = await open(server.port);
    sockets.push(one);
    await subscribe(one, { prefix: 'w-' }, opts.manyTwins);
    const many = await drive(server, [one], 16, opts.seconds, (i) => patch(`w-${(i * 7919) % opts.manyTwins}`, i));
    return { wide, many };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}

export const fmtFanout = (f: FanoutFigure) =>
  `${Math.round(f.eventsPerSecond).toLocaleString('en')} events/s from ${Math.round(f.writesPerSecond).toLocaleString('en')} writes/s, latency p50 ${f.p50.toFixed(2)} / p99 ${f.p99.toFixed(2)} ms, ${f.cpuUsPerEvent.toFixed(1)} µs server CPU per event`;

/**
 * The `ws` scenario of `npm run bench`: the bare `ws` server, then Doppel (fsync on, the default),
 * each fresh and alone while measured, and the ratios. Doppel's writes wait for their fsync, the
 * bare server's for nothing, so events per second compare the whole path and server CPU per event
 * compares the fan-out work itself.
 */
export async function wsScenario(opts: { manyTwins: number; seconds: number; log: (line: string) => void }): Promise<void> {
  const figures = (server: Started) => fanout(server, { connections: 100, twins: 10, manyTwins: opts.manyTwins, seconds: opts.seconds });
  const bareServer = await start(process.execPath, [join(import.meta.dirname, 'baseline-server.js')]);
  const bare = await figures(bareServer).finally(() => stop(bareServer));
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-ws-'));
  const server = await startDoppel('node', dir);
  const ours = await figures(server).finally(async () => { await stop(server); await rm(dir, { recursive: true, force: true }); });
  const row = (name: string, a: FanoutFigure, b: FanoutFigure) =>
    `| ${name} | ${fmtFanout(a)} | ${fmtFanout(b)} | ${(a.eventsPerSecond / b.eventsPerSecond).toFixed(2)} | ${(b.cpuUsPerEvent / a.cpuUsPerEvent).toFixed(2)} |`;
  opts.log('| scenario | Doppel | bare ws | ratio (events/s) | ratio (CPU per event, bare ÷ ours) |');
  opts.log('|---|---|---|---|---|');
  opts.log(row('1 writer (4 PATCHes in flight), 10 twins, 100 connections × 10 subscriptions: each change to 100 connections', ours.wide, bare.wide));
  opts.log(row(`16 writers, ${opts.manyTwins.toLocaleString('en')} twins followed by prefix on one connection`, ours.many, bare.many));
}
