/**
 * `npm run bench [-- --quick] [--only coap,http,ws,loop,scale,durability,isolation,runtimes,cluster,commands,connectors]`: starts
 * the real server (LevelDB in a temp dir) and the baselines one at a time, drives them with cheap
 * load generators (raw dgram for CoAP, raw sockets for HTTP), and reports throughput, latency
 * percentiles and server CPU per operation, as ratios to baselines measured in the same run. Each
 * figure is the median of the runs. A full default run rewrites bench/RESULTS.md and the chart
 * bench/coap-throughput.svg; `--quick` (CI's smoke run) and `--only` print only.
 * `npm run bench -- --coap-soak [--quick]` runs the CoAP memory soak (bench/coap-soak.ts).
 * `BENCH_SERVER_CPUS=1 taskset -c 0 node dist/bench/run.js …` pins servers and load generators to
 * separate cores (steadier figures); `node dist/bench/profile-coap.js` profiles the CoAP path.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { lineChart } from './chart.ts';
import { coapUpdates, medianRps } from './coap-bench.ts';
import { soak } from './coap-soak.ts';
import { convergenceLoop } from './loop-bench.ts';
import { scale } from './scale.ts';
import { wsScenario } from './ws-bench.ts';
import { connectorsBench } from './connectors.ts';
import { durability } from './durability.ts';
import { commandsBench } from './commands-bench.ts';
import { isolation } from './isolation.ts';
import { clusterBench } from './cluster.ts';
import { serverCommand } from './server-command.ts';
import type { ServerRuntime } from './server-command.ts';
import { BENCH_ADMIN, cpuSeconds, start, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';
import { percentile, runLoad } from './http-load.ts';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const SECONDS = quick ? 2 : 5;
const CONCURRENCY = 16;
const TWINS = quick ? 1000 : 10_000;
const ADMIN = BENCH_ADMIN;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Figure { rps: number[]; p50: number[]; p99: number[]; cpuUs: number[] }
/** Rounds (one run of each server per round) and seconds per run. */
interface Timing { rounds: number; seconds: number }

/**
 * Measures several servers on one request, their runs alternating (A B, B A, …), so a change in the
 * machine's load during the measurement reaches each of them alike: ratios compare like with like.
 */
async function measureAlternating(servers: { port: number; pid: number }[], request: (i: number) => string, timing: Timing): Promise<Figure[]> {
  const figs = servers.map((): Figure => ({ rps: [], p50: [], p99: [], cpuUs: [] }));
  for (const { port } of servers) await runLoad({ port, concurrency: CONCURRENCY, seconds: 0.5, request }); // warm-up
  for (let r = 0; r < timing.rounds; r++) {
    // Every other round in reverse (A B, B A, …), so neither server always runs right after the other.
    const order = r % 2 === 0 ? [...servers.keys()] : [...servers.keys()].reverse();
    for (const i of order) {
      const { port, pid } = servers[i]!;
      const fig = figs[i]!;
      const cpu0 = await cpuSeconds(pid);
      const res = await runLoad({ port, concurrency: CONCURRENCY, seconds: timing.seconds, request });
      const cpu1 = await cpuSeconds(pid);
      if (res.errors > 0) throw new Error(`${res.errors} error replies`);
      const sorted = res.latenciesMs.sort((a, b) => a - b);
      fig.rps.push(res.requests / res.seconds);
      fig.p50.push(percentile(sorted, 50));
      fig.p99.push(percentile(sorted, 99));
      fig.cpuUs.push(((cpu1 - cpu0) * 1e6) / res.requests);
    }
  }
  return figs;
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

/** Seeds a fresh server (LevelDB in a temp dir), then measures GET and PATCH against it (and against `alongside`, runs alternating). */
async function measureDoppel(flags: string[], runtime: ServerRuntime = 'node', alongside?: Started, timing: Timing = { rounds: RUNS, seconds: SECONDS }): Promise<{ get: Figure; patch: Figure; alongside?: { get: Figure; patch: Figure } }> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-'));
  const doppel = await startDoppel(runtime, dir, flags);
  try {
    process.stdout.write(`doppel on ${runtime} ${flags.join(' ')}: seeding ${TWINS} twins… `);
    const seeded = await runLoad({
      port: doppel.port, concurrency: CONCURRENCY, seconds: 600, maxRequests: TWINS,
      request: create,
    });
    console.log(`${Math.round(seeded.requests / seeded.seconds)} creates/s`);
    const servers = [doppel, ...(alongside === undefined ? [] : [alongside])].map((s) => ({ port: s.port, pid: s.child.pid! }));
    const [ourGet, otherGet] = await measureAlternating(servers, get, timing);
    const [ourPatch, otherPatch] = await measureAlternating(servers, patch, timing);
    return { get: ourGet!, patch: ourPatch!, ...(alongside === undefined ? {} : { alongside: { get: otherGet!, patch: otherPatch! } }) };
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
async function compareRuntimes(log: (line: string) => void): Promise<void> {
  log(`deno: ${execFileSync(serverCommand('deno').file, ['--version'], { encoding: 'utf8' }).split('\n')[0]}`);
  const rows: string[] = [];
  for (const runtime of ['node', 'deno'] as const) {
    const startup = await measureStartup(runtime);
    const figures = await measureDoppel([], runtime);
    rows.push(`| ${runtime} | ${Math.round(startup.emptyWall)} ms (server's own ${Math.round(startup.emptyOwn)} ms) | ${Math.round(startup.seededWall)} ms | ${fmt(figures.get)} | ${fmt(figures.patch)} |`);
  }
  log(`\n| runtime | start, empty data dir: spawn → listening | start with ${TWINS} twins | HTTP GET twin | HTTP PATCH desired (persisted) |`);
  log('|---|---|---|---|---|');
  for (const row of rows) log(row);
}

/** What one scenario contributes: its section of the report. */
type Scenario = (log: (line: string) => void) => Promise<void>;

const inFlights = [1, 16, 64];

const scenarios: Record<string, Scenario> = {
  async coap(log) {
    log('## CoAP reported updates (confirmable PUT, CBOR merge patch, each 2.04 after its commit)\n');
    const twins = quick ? 1000 : 10_000;
    log(`${twins} twins with device tokens; raw-dgram load generator, pre-built datagrams; ${RUNS} runs × ${SECONDS} s per cell; CPU is the server process's per request.\n`);
    const r = await coapUpdates({ twins, seconds: SECONDS, runs: RUNS, inFlight: inFlights, fsyncSeconds: quick ? 1 : 10, log });
    const svg = lineChart({
      title: 'CoAP: replies/s against requests in flight', xLabel: 'confirmable requests in flight', yLabel: 'replies per second', xs: r.inFlight,
      series: (Object.keys(r.figures) as Array<keyof typeof r.figures>).map((name) => ({ name, ys: r.figures[name].map(medianRps) })),
    });
    if (!quick) await writeFile(join(import.meta.dirname, '..', '..', 'bench', 'coap-throughput.svg'), svg);
    log(`\n![CoAP throughput against requests in flight](coap-throughput.svg)\n`);
  },
  async http(log) {
    log('## HTTP (16 keep-alive connections, closed loop; ratio to a bare hono route over the same adapter: the median of per-round ratios with min–max, runs alternating A B, B A, …)\n');
    const baseline = await start(process.execPath, [join(import.meta.dirname, 'baseline-server.js')]);
    // Many short rounds rather than a few long ones: the ratio is the median of the rounds' own
    // ratios, each taken from two adjacent runs, so the machine's load drifting hits both alike.
    const ours = await measureDoppel([], 'node', baseline, quick ? { rounds: 3, seconds: 0.7 } : { rounds: 8, seconds: 2 }).finally(() => stop(baseline));
    const { get: baseGet, patch: basePatch } = ours.alongside!;
    const ratio = (x: Figure, y: Figure) => {
      const pairs = x.rps.map((rps, r) => rps / y.rps[r]!);
      return `${median(pairs).toFixed(2)} (${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)})`;
    };
    log('| scenario | Doppel | bare hono | ratio |');
    log('|---|---|---|---|');
    log(`| GET twin | ${fmt(ours.get)} | ${fmt(baseGet)} | ${ratio(ours.get, baseGet)} |`);
    log(`| PATCH desired (persisted) | ${fmt(ours.patch)} | ${fmt(basePatch)} | ${ratio(ours.patch, basePatch)} |`);
  },
  async ws(log) {
    log('## WebSocket fan-out (ratio to a bare `ws` server broadcasting the same frames to the same connections)\n');
    await wsScenario({ manyTwins: quick ? 1000 : 10_000, seconds: SECONDS, log });
  },
  async loop(log) {
    log('## Convergence loop (HTTP PATCH desired → CoAP delta notification → device PUT reported → WebSocket sees the delta empty)\n');
    const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-loop-'));
    // One device loops as fast as it can: past 100 requests/s its rate limit would answer 4.29
    // (measured separately, by --isolation), so it is lifted here.
    const server = await startDoppel('node', dir, ['--device-rate', '1000000', '--device-burst', '1000000']);
    try {
      // RUNS runs of the loop on one server, like every other figure: median with min–max.
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await convergenceLoop(server, quick ? 50 : 500));
      const spread = (xs: number[]) => `${median(xs).toFixed(2)} ms (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
      log(`${runs.length} runs × ${runs[0]!.loops} loops, one at a time: p50 ${spread(runs.map((r) => r.p50))}, p99 ${spread(runs.map((r) => r.p99))}`);
    } finally {
      await stop(server);
      await rm(dir, { recursive: true, force: true });
    }
  },
  async durability(log) {
    log('## Durability cost (CoAP updates with and without fsync)\n');
    await durability({ twins: quick ? 200 : 1000, seconds: SECONDS, runs: quick ? 1 : 3, log });
  },
  async connectors(log) {
    log('## Outbound connectors (webhook, NATS) under CoAP report load\n');
    await connectorsBench({ twins: quick ? 200 : 1000, seconds: quick ? 2 : 5, log });
  },
  async isolation(log) {
    log('## Flood isolation (one device floods, another reports at 50/s)\n');
    await isolation({ seconds: quick ? 2 : 10, log });
  },
  async scale(log) {
    const twins = quick ? 20_000 : 1_000_000;
    log(`## Scale (${twins.toLocaleString('en')} twins)\n`);
    const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-scale-'));
    try {
      await scale(dir, { twins, resident: quick ? 10_000 : 100_000, coldSamples: quick ? 200 : 2000, log });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  async cluster(log) {
    log('## Cluster mode (3 nats-servers R3, 3 Doppel nodes, loopback) against one LevelDB node\n');
    await clusterBench({ twins: quick ? 300 : 3000, seconds: SECONDS, kills: quick ? 2 : 10, log });
  },
  async commands(log) {
    log('## Commands and fleet jobs\n');
    // --job-twins N: the fleet job's size (issue 15 measures 100,000).
    const at = process.argv.indexOf('--job-twins');
    const jobTwins = at >= 0 ? Number(process.argv[at + 1]) : quick ? 2000 : 10_000;
    if (!Number.isSafeInteger(jobTwins) || jobTwins < 1) throw new Error('--job-twins takes a number of twins, e.g. --job-twins 100000');
    const appSessions = quick ? 200 : 2000;
    log(`Direct commands to 16 devices (WebSocket device sessions, then CoAP observers of their commands), ${quick ? 200 : 2000} per cell; queued commands with ${appSessions.toLocaleString('en')} app sessions open; then a fleet job (a desired patch) over ${jobTwins.toLocaleString('en')} twins while 100 devices send CoAP reports at 500/s. Default --sync (fsync on).\n`);
    await commandsBench({ commands: quick ? 200 : 2000, jobTwins, appSessions, reportRate: 500, devices: 100, log });
  },
  async runtimes(log) {
    log('## Node and Deno side by side\n');
    await compareRuntimes(log);
  },
};

const DEFAULT = ['coap', 'http', 'ws', 'loop', 'scale', 'durability', 'isolation'];

async function main(): Promise<void> {
  if (process.argv.includes('--coap-soak')) {
    // `npm run bench -- --coap-soak [--quick]`: the CoAP memory soak (bench/coap-soak.ts) alone.
    console.log(`# Doppel CoAP soak${quick ? ' (quick)' : ''}`);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
    const r = await soak({ seconds: quick ? 15 : 300, inFlight: 32 });
    process.exitCode = r.plateau ? 0 : 1;
    return;
  }
  const onlyAt = process.argv.indexOf('--only');
  const legacy = ['runtimes', 'durability', 'isolation'].filter((n) => process.argv.includes(`--${n}`));
  const chosen = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : legacy.length > 0 ? legacy : DEFAULT;
  for (const name of chosen) if (!Object.hasOwn(scenarios, name)) throw new Error(`unknown scenario "${name}": choose from ${Object.keys(scenarios).join(', ')}`);
  const report: string[] = [];
  const log = (line: string) => { console.log(line); report.push(line); };
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(`# Benchmark results${quick ? ' (quick: smoke sizes, not for comparison)' : ''}\n`);
  log(`\`${command}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? '?'} vCPU, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Each server runs alone while measured; the load generator shares the two cores, so compare server CPU per request as well as throughput; ratios are to baselines measured in the same run.\n`);
  for (const name of chosen) {
    const started = performance.now();
    await scenarios[name]!(log);
    log(`\n_${name}: ${((performance.now() - started) / 1000).toFixed(0)} s_\n`);
  }
  // A full default run replaces the published results; partial and quick runs only print.
  if (!quick && onlyAt < 0 && legacy.length === 0) await publish(`${report.join('\n').trimEnd()}\n`);
}

const BEGIN = '<!-- generated by a full `npm run bench`: everything up to the end marker is replaced on the next full run -->';
const END = '<!-- end of generated results -->';

/** Replaces the generated part of bench/RESULTS.md, keeping the hand-kept sections after it. */
async function publish(generated: string): Promise<void> {
  const path = join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md');
  const existing = await readFile(path, 'utf8').catch(() => '');
  const end = existing.indexOf(END);
  const kept = end < 0 ? '' : existing.slice(end + END.length);
  await writeFile(path, `${BEGIN}\n${generated}${END}${kept}`);
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
