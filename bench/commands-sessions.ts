/**
 * What many app sessions cost a command: queued commands invoked and cancelled over HTTP (two
 * status changes each) with no app session open, then with `sessions` WebSocket app sessions each
 * following one other twin (`app-<i>`), none of them the commands' twin. Server CPU per command
 * shows whether a change is offered to every session or only to those following its twin.
 */
import WebSocket from 'ws';
import { percentile } from './http-load.ts';
import { BENCH_ADMIN, cpuSeconds } from './server-process.ts';
import type { Started } from './server-process.ts';

const auth = { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' };
const OPEN_AT_ONCE = 64;

export async function commandsWithSessions(server: Started, opts: { sessions: number; commands: number; log: (line: string) => void }): Promise<void> {
  opts.log(`| queued command invoked and cancelled over HTTP, 16 in flight | p50 | p99 | server CPU per command |`);
  opts.log('|---|---|---|---|');
  opts.log(row('no app session open', await invokeAndCancel(server, opts.commands)));
  const sessions = await openSessions(server, opts.sessions);
  try {
    opts.log(row(`${opts.sessions.toLocaleString('en')} app sessions, each following another twin`, await invokeAndCancel(server, opts.commands)));
  } finally {
    for (const ws of sessions) ws.terminate();
  }
  opts.log('');
}

interface Cell { times: number[]; cpu: number }

const row = (what: string, r: Cell) =>
  `| ${what} | ${percentile(r.times, 50).toFixed(2)} ms | ${percentile(r.times, 99).toFixed(2)} ms | ${((r.cpu / r.times.length) * 1e6).toFixed(0)} µs |`;

/** `total` queued commands to twins `cmd-0`…`cmd-15`, each cancelled at once (open commands per twin stay few). */
async function invokeAndCancel(server: Started, total: number): Promise<Cell> {
  const base = `http://127.0.0.1:${server.port}/v1/twins`;
  const times: number[] = [];
  let next = 0;
  const cpu0 = await cpuSeconds(server.child.pid!);
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < total) {
      const twin = `cmd-${next++ % 16}`;
      const started = performance.now();
      const res = await fetch(`${base}/${twin}/commands`, { method: 'POST', headers: auth, body: '{"name":"noop","ttlSeconds":600}' });
      const { id } = await res.json() as { id: string };
      if (res.status !== 202) throw new Error(`invoke: ${res.status}`);
      const cancelled = await fetch(`${base}/${twin}/commands/${id}`, { method: 'DELETE', headers: auth });
      await cancelled.arrayBuffer();
      if (cancelled.status !== 200) throw new Error(`cancel: ${cancelled.status}`);
      times.push(performance.now() - started);
    }
  }));
  const cpu = (await cpuSeconds(server.child.pid!)) - cpu0;
  return { times: times.sort((a, b) => a - b), cpu };
}

/** `n` app sessions (admin token), session i subscribed to twin `app-<i>` and past its snapshot. */
async function openSessions(server: Started, n: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: OPEN_AT_ONCE }, async () => {
    while (next < n) {
      const i = next++;
      sockets.push(await new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } });
        ws.once('open', () => ws.send(JSON.stringify({ op: 'subscribe', ref: 's', twins: [`app-${i}`] })));
        ws.on('message', (data) => {
          const m = JSON.parse(String(data)) as { op: string };
          if (m.op === 'error') reject(new Error(`session ${i}: ${String(data)}`));
          if (m.op === 'snapshot' || m.op === 'twin') resolve(ws);
        });
        ws.once('error', reject);
      }));
    }
  }));
  return sockets;
}
