/**
 * `node dist/bench/profile-connectors.js [--webhooks 1] [--seconds 10] [--twins 1000]`: the
 * connectors bench's CoAP report load against one Doppel server started with `--cpu-prof`, with
 * `--webhooks` webhook connectors to local receivers, for finding where delivery's time goes.
 * Prints reports/s, delivered/s and the profile's self time grouped by what the code does.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { seedDevices } from './seed.ts';
import { cpuSeconds, start, stop, BENCH_ADMIN } from './server-process.ts';
import { serverCommand } from './server-command.ts';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : dflt; };
const webhooks = Number(arg('webhooks', '1'));
const seconds = Number(arg('seconds', '10'));
const twins = Number(arg('twins', '1000'));
/** Reports per second, open loop (0: closed loop, 16 in flight): at a fixed rate CPU per report compares across runs. */
const rate = Number(arg('rate', '0'));
const out = await mkdtemp(join(tmpdir(), 'doppel-connprof-'));
const profile = process.argv.includes('--no-prof') ? [] : ['--cpu-prof', `--cpu-prof-dir=${out}`];

await mkdir(out, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), 'doppel-prof-'));
const { file, args } = serverCommand('node');
const server = await start(file, [...profile, ...args, '--http', '0', '--coap', '0', '--data', dir], { DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
const receivers: Server[] = [];
let delivered = 0;
/** The load's window on the profile's clock (both CLOCK_MONOTONIC µs). */
const window = { from: 0, to: Infinity };
try {
  const tokens = await seedDevices(server.port, twins, 'p-');
  const datagrams = coapUpdateDatagrams(tokens, 'p-');
  for (let i = 0; i < webhooks; i++) {
    const r = createServer((req, res) => { req.resume(); req.on('end', () => { delivered++; res.writeHead(204).end(); }); });
    await new Promise<void>((resolve) => r.listen(0, '127.0.0.1', () => resolve()));
    receivers.push(r);
    const url = `http://127.0.0.1:${(r.address() as { port: number }).port}/hook`;
    await fetch(`http://127.0.0.1:${server.port}/v1/connectors`, {
      method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: `prof-${i}`, kind: 'webhook', url, secret: 'bench-secret-0123456789', prefix: 'p-' }),
    });
  }
  // Warm-up: the delivery code loaded and compiled, its backlog delivered.
  const warm = await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds: 1, ...(rate > 0 ? { rate } : {}) });
  for (const deadline = Date.now() + 60_000; delivered < (warm.codes.get(0x44) ?? 0) * webhooks && Date.now() < deadline;) await new Promise((res) => setTimeout(res, 50));
  delivered = 0;
  const c0 = await cpuSeconds(server.child.pid!);
  window.from = Number(process.hrtime.bigint() / 1000n);
  const r = await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds, ...(rate > 0 ? { rate } : {}) });
  const ok = r.codes.get(0x44) ?? 0;
  const loadDelivered = delivered;
  window.to = Number(process.hrtime.bigint() / 1000n);
  // Every event delivered, so the CPU counted includes each one's delivery.
  for (const deadline = Date.now() + 60_000; delivered < ok * webhooks && Date.now() < deadline;) await new Promise((res) => setTimeout(res, 50));
  const c1 = await cpuSeconds(server.child.pid!);
  console.log(`${webhooks} webhook(s): ${Math.round(ok / r.seconds)} reports/s, ${Math.round(loadDelivered / r.seconds)} delivered/s during the load, ${Math.round(((c1 - c0) * 1e6) / ok)} µs CPU/report (deliveries included)`);
} finally {
  await stop(server);
  for (const r of receivers) r.close();
  await rm(dir, { recursive: true, force: true });
}
const [prof] = (await readdir(out)).filter((f) => f.endsWith('.cpuprofile'));
if (prof !== undefined) summarize(JSON.parse(await readFile(join(out, prof), 'utf8')) as Profile);
await rm(out, { recursive: true, force: true });

interface Profile { startTime: number; nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]; samples: number[]; timeDeltas: number[] }

/** Within the load's window: self time per function and per source file, inclusive time per function. */
function summarize(p: Profile): void {
  const self = new Map<number, number>();
  let at = p.startTime;
  for (const [i, id] of p.samples.entries()) {
    at += p.timeDeltas[i] ?? 0;
    if (at >= window.from && at <= window.to) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    total += t;
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*\/(node_modules\/[^/]+|dist\/[^/]+\/[^/]+|dist\/[^/]+)/, '$1').replace(/^node:/, 'node:');
    const key = `${functionName || '(anon)'} ${file}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const group = url === '' ? functionName : file.split(':')[0]!;
    byFile.set(group, (byFile.get(group) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1)}%`;
  console.log('\nself time by file:');
  for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
  console.log('\nself time by function:');
  for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
  console.log('\ninclusive time by function:');
  for (const [k, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 70)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
}
