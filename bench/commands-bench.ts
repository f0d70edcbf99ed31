/**
 * Commands and fleet jobs, measured from outside against a real server process:
 * - direct command round trip, HTTP invoke → WebSocket device session answers → HTTP 200, and
 *   HTTP invoke → CoAP observer of the commands is notified → CoAP POST answer → HTTP 200, at 1
 *   and 16 in flight (p50/p99 and server CPU per command);
 * - queued commands with and without many app sessions open (bench/commands-sessions.ts);
 * - a fleet job over many twins (`--job-twins 100000`) under device load (bench/commands-job.ts).
 *   Its twins are seeded into the store before the server starts (bench/seed-store.ts).
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parse } from 'coap-packet';
import WebSocket from 'ws';
import { percentile } from './http-load.ts';
import { commandsWithSessions } from './commands-sessions.ts';
import { jobUnderLoad } from './commands-job.ts';
import { seedDevices } from './seed.ts';
import { seedStore } from './seed-store.ts';
import { BENCH_ADMIN, cpuSeconds, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

const auth = { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' };
type Log = (line: string) => void;

export interface CommandsBenchOptions { commands: number; jobTwins: number; appSessions: number; reportRate: number; devices: number; log: Log }

export async function commandsBench(opts: CommandsBenchOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-commands-'));
  const seeded = await seedStore(dir, opts.jobTwins, 'fleet-', { desired: { temp: 21, mode: 'eco' }, tags: { site: 'berlin' } });
  await seedStore(dir, opts.appSessions, 'app-', {});
  opts.log(`(${opts.jobTwins.toLocaleString('en')} job twins seeded into the store in ${seeded.seconds.toFixed(1)} s)\n`);
  const server = await startDoppel('node', dir, [
    '--device-rate', '1000000', '--device-burst', '1000000', '--key-rate', '1000000', '--key-burst', '1000000', '--max-streams-per-credential', '1000000',
  ]);
  try {
    const tokens = await seedDevices(server.port, 16, 'cmd-');
    opts.log('| direct command round trip | in flight | p50 | p99 | commands/s | server CPU per command |');
    opts.log('|---|---|---|---|---|---|');
    const ws = await wsDevices(server, tokens);
    for (const k of [1, 16]) opts.log(row('HTTP → WebSocket device → HTTP', k, await roundTrips(server, k, opts.commands)));
    ws.close();
    const coap = await coapDevices(server, tokens);
    for (const k of [1, 16]) opts.log(row('HTTP → CoAP observer → CoAP answer → HTTP', k, await roundTrips(server, k, opts.commands)));
    coap.close();
    opts.log('');
    await commandsWithSessions(server, { sessions: opts.appSessions, commands: Math.min(opts.commands, 1000), log: opts.log });
    await jobUnderLoad(server, opts);
  } finally {
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}

interface RoundTrips { times: number[]; seconds: number; cpu: number }

const row = (what: string, k: number, r: RoundTrips) =>
  `| ${what} | ${k} | ${percentile(r.times, 50).toFixed(2)} ms | ${percentile(r.times, 99).toFixed(2)} ms | ${Math.round(r.times.length / r.seconds)} | ${((r.cpu / r.times.length) * 1e6).toFixed(0)} µs |`;

/** `total` direct commands, `k` at a time, each to one of the 16 devices in turn. */
async function roundTrips(server: Started, k: number, total: number): Promise<RoundTrips> {
  const times: number[] = [];
  let next = 0;
  const cpu0 = await cpuSeconds(server.child.pid!);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: k }, async () => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${server.port}/v1/twins/cmd-${i % 16}/commands`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'ping', payload: { i }, timeoutMs: 10_000 }) });
      const body = await res.json() as { status?: string };
      if (res.status !== 200 || body.status !== 'succeeded') throw new Error(`command ${i}: ${res.status} ${JSON.stringify(body)}`);
      times.push(performance.now() - started);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await cpuSeconds(server.child.pid!)) - cpu0;
  return { times: times.sort((a, b) => a - b), seconds, cpu };
}

/** 16 WebSocket device sessions answering every command at once. */
async function wsDevices(server: Started, tokens: string[]): Promise<{ close: () => void }> {
  const sockets = await Promise.all(tokens.map((token) => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { op: string; command?: { id: string; payload: unknown } };
      if (m.op === 'delta') resolve(ws);
      if (m.op === 'command' && m.command !== undefined) ws.send(JSON.stringify({ op: 'result', ref: m.command.id, command: m.command.id, status: 'succeeded', result: m.command.payload }));
    });
    ws.once('error', reject);
  })));
  return { close: () => { for (const ws of sockets) ws.terminate(); } };
}

/** 16 CoAP devices observing their commands, answering each new one with a confirmable POST. */
async function coapDevices(server: Started, tokens: string[]): Promise<{ close: () => void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  let mid = 1;
  const answered = new Set<string>();
  const send = (packet: Parameters<typeof generate>[0]) => socket.send(generate(packet), server.coapPort, '127.0.0.1');
  const opts = (path: string[], i: number) => [...path.map((p) => ({ name: 'Uri-Path', value: Buffer.from(p) })), { name: 'Uri-Query', value: Buffer.from(`token=${tokens[i]}`) }];
  const observed = new Set<number>();
  let ready: () => void = () => {};
  const allObserved = new Promise<void>((resolve) => { ready = resolve; });
  socket.on('message', (m) => {
    const p = parse(m);
    if (p.confirmable) send({ code: '0.00', ack: true, messageId: p.messageId, token: Buffer.alloc(0) });
    if (p.token.length !== 2 || p.token[0] !== 0xc0 || p.code !== '2.05') return;
    const i = p.token[1]!;
    observed.add(i);
    if (observed.size === tokens.length) ready();
    for (const order of JSON.parse(p.payload.toString() || '[]') as Array<{ id: string }>) {
      if (answered.has(order.id)) continue;
      answered.add(order.id);
      mid = (mid + 1) & 0xffff;
      send({
        code: 'POST', confirmable: true, messageId: mid, token: Buffer.from([0xa0, mid & 255]),
        options: [...opts(['t', `cmd-${i}`, 'commands', order.id], i), { name: 'Content-Format', value: Buffer.from([50]) }], payload: Buffer.from('{"status":"succeeded"}'),
      });
    }
  });
  tokens.forEach((_, i) => send({ code: 'GET', confirmable: true, messageId: (mid = mid + 1), token: Buffer.from([0xc0, i]), options: [{ name: 'Observe', value: Buffer.alloc(0) }, ...opts(['t', `cmd-${i}`, 'commands'], i)] }));
  await allObserved;
  return { close: () => socket.close() };
}
