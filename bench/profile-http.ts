/**
 * `node dist/bench/profile-http.js [--scenario get|patch] [--seconds 10] [--twins 1000] [--flags "..."] [--no-prof] [--baseline]`:
 * the HTTP GET or PATCH load of `npm run bench -- --only http` against one Doppel server started
 * with `--cpu-prof`, for finding where the server's time goes. Prints throughput and CPU per
 * request; the profile and the load window (window.json, on the profile's clock) land in `--out`.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './http-load.ts';
import { seedTwins } from './seed.ts';
import { cpuSeconds, start, stop, BENCH_ADMIN } from './server-process.ts';
import { serverCommand } from './server-command.ts';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : dflt; };
const scenario = arg('scenario', 'get');
const seconds = Number(arg('seconds', '10'));
const twins = Number(arg('twins', '1000'));
const out = arg('out', join(tmpdir(), 'doppel-prof'));
const extra = arg('flags', '').split(' ').filter(Boolean);
const profile = process.argv.includes('--no-prof') ? [] : ['--cpu-prof', `--cpu-prof-dir=${out}`];
// --baseline: the bare hono route of bench/baseline-server.ts instead of Doppel, profiled alike.
const baseline = process.argv.includes('--baseline');

const get = (i: number) => `GET /v1/twins/bench-${i % twins} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\n\r\n`;
const patch = (i: number) => {
  const body = `{"desired":{"temp":${i}}}`;
  return `PATCH /v1/twins/bench-${i % twins} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};
const request = scenario === 'patch' ? patch : get;

await mkdir(out, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), 'doppel-prof-'));
const { file, args } = serverCommand('node');
const server = baseline
  ? await start(process.execPath, [...profile, join(import.meta.dirname, 'baseline-server.js')])
  : await start(file, [...profile, ...args, '--http', '0', '--coap', '0', '--data', dir, ...extra], { DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
try {
  if (!baseline) await seedTwins(server.port, twins, 'bench-');
  await runLoad({ port: server.port, concurrency: 16, seconds: 1, request }); // warm-up
  const before = baseline ? undefined : await storeStats(server.port);
  const threads0 = await threadCpu(server.child.pid!);
  const c0 = await cpuSeconds(server.child.pid!);
  const t0 = process.hrtime.bigint() / 1000n;
  const r = await runLoad({ port: server.port, concurrency: 16, seconds, request });
  const c1 = await cpuSeconds(server.child.pid!);
  const threads1 = await threadCpu(server.child.pid!);
  await writeFile(join(out, 'window.json'), JSON.stringify({ from: Number(t0), to: Number(process.hrtime.bigint() / 1000n) }));
  if (before !== undefined && scenario === 'patch') {
    const after = await storeStats(server.port);
    const batches = after.batches - before.batches;
    console.log(`store: ${batches} batches, ${((after.commits - before.commits) / batches).toFixed(1)} commits per batch, ${((1e6 * (after.seconds - before.seconds)) / batches).toFixed(0)} µs per batch (its write and fsync)`);
  }
  console.log(`${scenario}: ${Math.round(r.requests / r.seconds)}/s, ${Math.round(((c1 - c0) * 1e6) / r.requests)} µs CPU/req, ${r.errors} errors`);
  console.log(`  by thread (µs CPU/req): ${perThread(threads0, threads1, server.child.pid!, r.requests)}`);
} finally {
  await stop(server);
  await rm(dir, { recursive: true, force: true });
}

/** User+system CPU seconds of each thread of `pid` by thread id, with its name (Linux /proc/<pid>/task). */
async function threadCpu(pid: number): Promise<Map<string, { name: string; seconds: number }>> {
  const out = new Map<string, { name: string; seconds: number }>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/**
 * CPU per request by thread: the main thread (the event loop: JavaScript and the syscalls it makes)
 * apart from the others, named by name when the runtime names them (Node 20 does not: then by thread
 * id minus the process id, in creation order: V8's workers (GC, compiler) start before libuv's pool
 * (LevelDB writes and fsyncs)).
 */
function perThread(before: Map<string, { name: string; seconds: number }>, after: Map<string, { name: string; seconds: number }>, pid: number, requests: number): string {
  const rows: [string, number][] = [];
  for (const [tid, { name, seconds }] of after) {
    const label = Number(tid) === pid ? 'main' : `${name} +${Number(tid) - pid}`;
    rows.push([label, seconds - (before.get(tid)?.seconds ?? 0)]);
  }
  return rows.filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).map(([g, s]) => `${g} ${((s * 1e6) / requests).toFixed(0)}`).join(', ');
}

/** The store's batch metrics (group commit): batches written, commits in them, seconds spent. */
async function storeStats(port: number): Promise<{ batches: number; commits: number; seconds: number }> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  return { batches: value('doppel_store_batch_ops_count'), commits: value('doppel_store_commits_total'), seconds: value('doppel_store_batch_duration_seconds_sum') };
}
