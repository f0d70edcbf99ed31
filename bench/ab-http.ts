/**
 * `node dist/bench/ab-http.js --a <root> [--b <root>] [--scenario get|patch] [--rounds 12] [--seconds 1] [--together] [--twins 1000] [--flags "..."]`:
 * two builds of Doppel (each a project root holding dist/, e.g. an older commit extracted with
 * `git archive` and built; `--b` defaults to this one; `bare` names the bare hono server) under
 * the HTTP GET or PATCH load of `npm run bench -- --only http`, for deciding whether a change wins.
 *
 * Runs alternate A B, B A, …; `--together` loads both at once instead, so each round sees the
 * same machine (on a machine shared with other load, the steadier comparison of CPU per request).
 * Prints each side's req/s and CPU µs per request (all threads, and the main thread alone) by
 * round, and the medians of the per-round ratios B/A.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, runLoad } from './http-load.ts';
import type { LoadResult } from './http-load.ts';
import { seedTwins } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds, start, stop } from './server-process.ts';
import type { Started } from './server-process.ts';
import { projectRoot } from './server-command.ts';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : dflt; };
const roots = [arg('a', ''), arg('b', projectRoot)];
if (roots[0] === '') throw new Error('--a <project root> is required');
const scenario = arg('scenario', 'get');
const rounds = Number(arg('rounds', '12'));
const seconds = Number(arg('seconds', '1'));
const together = process.argv.includes('--together');
const flags = arg('flags', '').split(' ').filter(Boolean);
const TWINS = Number(arg('twins', '1000'));

const get = (i: number) => `GET /v1/twins/bench-${i % TWINS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\n\r\n`;
const patch = (i: number) => {
  const body = `{"desired":{"temp":${i}}}`;
  return `PATCH /v1/twins/bench-${i % TWINS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};
const request = scenario === 'patch' ? patch : get;

interface Round { rps: number; cpuUs: number; mainUs: number; p99: number }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** User+system CPU seconds of the main thread alone (its task id is the process id). */
async function mainCpu(pid: number): Promise<number> {
  const stat = (await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

const cpuNow = async (s: Started) => ({ all: await cpuSeconds(s.child.pid!), main: await mainCpu(s.child.pid!) });

function round(r: LoadResult, before: { all: number; main: number }, after: { all: number; main: number }): Round {
  if (r.errors > 0) throw new Error(`${r.errors} error replies`);
  const per = (s: number) => (s * 1e6) / r.requests;
  return { rps: r.requests / r.seconds, cpuUs: per(after.all - before.all), mainUs: per(after.main - before.main), p99: percentile(r.latenciesMs.sort((a, b) => a - b), 99) };
}

const servers: Started[] = [];
const dirs: string[] = [];
try {
  for (const root of roots) {
    if (root === 'bare') { servers.push(await start(process.execPath, [join(import.meta.dirname, 'baseline-server.js')])); continue; }
    const data = await mkdtemp(join(tmpdir(), 'doppel-ab-'));
    dirs.push(data);
    const s = await start(process.execPath, [join(root, 'dist', 'src', 'cli.js'), 'serve', '--http', '0', '--coap', '0', '--data', data, ...flags], { DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
    servers.push(s);
    await seedTwins(s.port, TWINS, 'bench-');
  }
  for (const s of servers) await runLoad({ port: s.port, concurrency: 16, seconds: 1, request }); // warm-up
  const results: Round[][] = [[], []];
  const load = (s: Started) => runLoad({ port: s.port, concurrency: 16, seconds, request });
  for (let r = 0; r < rounds; r++) {
    if (together) {
      const before = await Promise.all(servers.map(cpuNow));
      const loads = await Promise.all(servers.map(load));
      const after = await Promise.all(servers.map(cpuNow));
      loads.forEach((l, i) => results[i]!.push(round(l, before[i]!, after[i]!)));
      continue;
    }
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const before = await cpuNow(servers[i]!);
      const l = await load(servers[i]!);
      results[i]!.push(round(l, before, await cpuNow(servers[i]!)));
    }
  }
  for (const [i, name] of ['A', 'B'].entries()) {
    const rs = results[i]!;
    const show = (f: (x: Round) => number, digits = 0) => `${rs.map((x) => f(x).toFixed(digits)).join(' ')} | median ${median(rs.map(f)).toFixed(1)}`;
    console.log(`${name} ${roots[i]} ${scenario}:\n  req/s ${show((x) => x.rps)}\n  CPU µs/req ${show((x) => x.cpuUs)}\n  main thread µs/req ${show((x) => x.mainUs)}\n  p99 ms median ${median(rs.map((x) => x.p99)).toFixed(2)}`);
  }
  const ratio = (f: (x: Round) => number) => {
    const rs = results[1]!.map((b, r) => f(b) / f(results[0]![r]!));
    return `${median(rs).toFixed(3)} (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;
  };
  console.log(`B/A medians of per-round ratios: req/s ${ratio((x) => x.rps)}, CPU/req ${ratio((x) => x.cpuUs)}, main-thread CPU/req ${ratio((x) => x.mainUs)}`);
} finally {
  for (const s of servers) await stop(s);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
