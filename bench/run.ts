/**
 * `npm run bench [-- --quick]`: starts the real server (built CLI, LevelDB in a temp dir) and a
 * bare hono baseline, drives both with the same load generator, and reports throughput, latency
 * and server CPU per request, as ratios to the baseline measured in the same run. Runs are
 * sequential (never two servers under load at once); each figure is the median of the runs.
 * `npm run bench -- --coap-soak [--quick]` runs the CoAP memory soak (bench/coap-soak.ts) instead;
 * `npm run bench -- --runtimes [--quick]` compares startup and HTTP throughput on Node and Deno;
 * `npm run bench -- --isolation [--quick]` measures one device's latency while another floods;
 * `npm run bench -- --durability [--quick]` measures what fsync costs CoAP updates.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { soak } from './coap-soak.ts';
import { durability } from './durability.ts';
import { isolation } from './isolation.ts';
import { serverCommand } from './server-command.ts';
import type { ServerRuntime } from './server-command.ts';
import { BENCH_ADMIN, cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';
import { percentile, runLoad } from './http-load.ts';

const quick = process.argv.includes('--quick');
const RUNS = 3;
const SECONDS = quick ? 2 : 5;
const CONCURRENCY = 16;
const TWINS = quick ? 1000 : 10_000;
const ADMIN = BENCH_ADMIN;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Figure { rps: number[]; p50: number[]; p99: number[]; cpuUs: number[] }

async function measure(port: number, pid: number, request: (i: number) => string): Promise<Figure> {
  const fig: Figure = { rps: [], p50: [], p99: [], cpuUs: [] };
  await runLoad({ port, concurrency: CONCURRENCY, seconds: 0.5, request }); // warm-up
  for (let r = 0; r < RUNS; r++) {
    const cpu0 = await cpuSeconds(pid);
    const res = await runLoad({ port, concurrency: CONCURRENCY, seconds: SECONDS, request });
    const cpu1 = await cpuSeconds(pid);
    if (res.errors > 0) throw new Error(`${res.errors} error replies`);
    const sorted = res.latenciesMs.sort((a, b) => a - b);
    fig.rps.push(res.requests / res.seconds);
    fig.p50.push(percentile(sorted, 50));
    fig.p99.push(percentile(sorted, 99));
    fig.cpuUs.push(((cpu1 - cpu0) * 1e6) / res.requests);
  }
  return fig;
}

const fmt = (f: Figure) => `${Math.round(median(f.rps))} req/s (min ${Math.round(Math.min(...f.rps))}, max ${Math.round(Math.max(...f.rps))}), p50 ${median(f.p50).toFixed(2)} ms, p99 ${median(f.p99).toFixed(2)} ms, server CPU ${Math.round(median(f.cpuUs))} µs/req`;

const get = (i: number) => `GET /v1/twins/bench-${i % TWINS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN}\r\n\r\n`;
const patch = (i: number) => {
  const body = `{"desired":{"temp":${i}}}`;
  return `PATCH /v1/twins/bench-${i % TWINS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};

const create = (i: number) => {
  const body = `{"id":"bench-${i}","desired":{"temp":21,"mode":"eco"},"tags":{"site":"berlin"}}`;
  return `POST /v1/twins HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};

/** Seeds a fresh server (LevelDB in a temp dir), then measures GET and PATCH against it. */
async function measureDoppel(flags: string[], runtime: ServerRuntime = 'node'): Promise<{ get: Figure; patch: Figure }> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-'));
  const doppel = await startDoppel(runtime, dir, flags);
  try {
    process.stdout.write(`doppel on ${runtime} ${flags.join(' ')}: seeding ${TWINS} twins… `);
    const seeded = await runLoad({
      port: doppel.port, concurrency: CONCURRENCY, seconds: 600, maxRequests: TWINS,
      request: create,
    });
    console.log(`${Math.round(seeded.requests / seeded.seconds)} creates/s`);
    return { get: await measure(doppel.port, doppel.child.pid!, get), patch: await measure(doppel.port, doppel.child.pid!, patch) };
  } finally {
    await stop(doppel);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Startup to "listening" on an empty data dir and on one holding `TWINS` twins: median of 5 each. */
async function measureStartup(runtime: ServerRuntime): Promise<{ emptyWall: number; emptyOwn: number; seededWall: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-start-'));
  try {
    const empties: Started[] = [];
    for (let i = 0; i < 5; i++) {
      await rm(join(dir, 'db'), { recursive: true, force: true });
      const s = await startDoppel(runtime, dir);
      empties.push(s);
      await stop(s);
    }
    const seeder = await startDoppel(runtime, dir);
    await runLoad({ port: seeder.port, concurrency: CONCURRENCY, seconds: 600, maxRequests: TWINS, request: create });
    await stop(seeder);
    const seeded: number[] = [];
    for (let i = 0; i < 5; i++) { const s = await startDoppel(runtime, dir); seeded.push(s.wallMs); await stop(s); }
    return { emptyWall: median(empties.map((s) => s.wallMs)), emptyOwn: median(empties.map((s) => s.startupMs)), seededWall: median(seeded) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `npm run bench -- --runtimes`: the same server on Node and on Deno, side by side. */
async function compareRuntimes(): Promise<void> {
  console.log(`deno: ${execFileSync(serverCommand('deno').file, ['--version'], { encoding: 'utf8' }).split('\n')[0]}`);
  const rows: string[] = [];
  for (const runtime of ['node', 'deno'] as const) {
    const startup = await measureStartup(runtime);
    const figures = await measureDoppel([], runtime);
    rows.push(`| ${runtime} | ${Math.round(startup.emptyWall)} ms (server's own ${Math.round(startup.emptyOwn)} ms) | ${Math.round(startup.seededWall)} ms | ${fmt(figures.get)} | ${fmt(figures.patch)} |`);
  }
  console.log(`\n| runtime | start, empty data dir: spawn → listening | start with ${TWINS} twins | HTTP GET twin | HTTP PATCH desired (persisted) |`);
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

async function main(): Promise<void> {
  if (process.argv.includes('--coap-soak')) {
    // `npm run bench -- --coap-soak [--quick]`: the CoAP memory soak (bench/coap-soak.ts) alone.
    console.log(`# Doppel CoAP soak${quick ? ' (quick)' : ''}`);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
    const r = await soak({ seconds: quick ? 15 : 60, inFlight: 32 });
    process.exitCode = r.plateau ? 0 : 1;
    return;
  }
  console.log(`# Doppel benchmark${quick ? ' (quick)' : ''}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  console.log(`load: ${CONCURRENCY} keep-alive connections, closed loop, ${RUNS} runs × ${SECONDS}s each, ${TWINS} twins\n`);

  if (process.argv.includes('--runtimes')) { await compareRuntimes(); return; }
  if (process.argv.includes('--durability')) { await durability({ twins: quick ? 200 : 1000, seconds: quick ? 2 : 5, runs: quick ? 1 : 3 }); return; }
  if (process.argv.includes('--isolation')) {
    const { withinBound } = await isolation({ seconds: quick ? 2 : 10 });
    process.exitCode = withinBound ? 0 : 1;
    return;
  }

  const baseline = await start(process.execPath, ['dist/bench/baseline-server.js']);
  const baseGet = await measure(baseline.port, baseline.child.pid!, get);
  const basePatch = await measure(baseline.port, baseline.child.pid!, patch);
  await stop(baseline);

  const ours = await measureDoppel([]);
  const synced = await measureDoppel(['--sync']);

  const ratio = (a: Figure, b: Figure) => (median(a.rps) / median(b.rps)).toFixed(2);
  console.log(`\n| scenario | Doppel | bare hono baseline | ratio |`);
  console.log('|---|---|---|---|');
  console.log(`| HTTP GET twin | ${fmt(ours.get)} | ${fmt(baseGet)} | ${ratio(ours.get, baseGet)} |`);
  console.log(`| HTTP PATCH desired (persisted) | ${fmt(ours.patch)} | ${fmt(basePatch)} | ${ratio(ours.patch, basePatch)} |`);
  console.log(`| HTTP PATCH desired, --sync (fsync'd) | ${fmt(synced.patch)} | ${fmt(basePatch)} | ${ratio(synced.patch, basePatch)} |`);
  console.log(`\n--sync costs ${((1 - median(synced.patch.rps) / median(ours.patch.rps)) * 100).toFixed(0)}% of PATCH throughput in this run.`);
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
