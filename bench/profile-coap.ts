/**
 * `node dist/bench/profile-coap.js [--k 16] [--seconds 10] [--twins 10000] [--flags "..."]`: the
 * CoAP update load against one Doppel server started with `--cpu-prof`, for finding where the
 * server's time goes. Prints throughput and CPU per request, split into the main thread (the event
 * loop: everything Doppel's own code costs) and the other threads (LevelDB's thread pool, GC
 * helpers), and the main thread's sleeps per request (voluntary context switches: each is one
 * wait for I/O, i.e. a wake-up). The profile lands in `--out`; `--no-prof` skips it.
 * `--rate N` sends N reports a second (open loop) instead of keeping `--k` in flight: at a rate
 * both builds sustain, their CPU per report compares without one's higher throughput changing
 * its batching. `--root DIR` runs the server of another build (a copy with dist/, package.json and
 * node_modules), for A/B runs that alternate the two in one session.
 *
 * `--against DIR [--rounds 5] [--swap]`: an A/B of this build (B) against the build in DIR (A),
 * both served at the same time, each under its own load, measured over the same windows, so both
 * see the same contention from whatever else runs on the machine (runs one after another, on a
 * shared machine, differed by more than the changes being measured). Prints each round's
 * main-thread CPU per report of B over A, and the medians; `--swap` starts B's server first,
 * since the order showed a bias of a few percent: run both orders.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { seedDevices } from './seed.ts';
import { cpuSeconds, start, stop, BENCH_ADMIN } from './server-process.ts';
import { serverCommand } from './server-command.ts';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : dflt; };
const k = Number(arg('k', '16'));
const seconds = Number(arg('seconds', '10'));
const twins = Number(arg('twins', '10000'));
const out = arg('out', join(tmpdir(), 'doppel-prof'));
const rate = arg('rate', '');
const extra = arg('flags', '').split(' ').filter(Boolean);
const profile = process.argv.includes('--no-prof') ? [] : ['--cpu-prof', '--cpu-prof-interval', arg('interval', '1000'), `--cpu-prof-dir=${out}`];

const against = arg('against', '');
if (against !== '') {
  await compareBuilds(against);
  process.exit(0);
}

await mkdir(out, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), 'doppel-prof-'));
const root = arg('root', '');
const { file, args } = serverCommand('node');
if (root !== '') args[0] = join(root, args[0]!);
const server = await start(file, [...profile, ...args, '--http', '0', '--coap', '0', '--data', dir, ...extra], { DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
try {
  const tokens = await seedDevices(server.port, twins, 'c-');
  const datagrams = coapUpdateDatagrams(tokens, 'c-');
  await runCoapLoad({ port: server.coapPort, datagrams, inFlight: k, seconds: 60, maxRequests: datagrams.length });
  const before = await storeStats(server.port);
  const c0 = await cpuSeconds(server.child.pid!);
  const th0 = await threadStats(server.child.pid!);
  const t0 = process.hrtime.bigint() / 1000n;
  const r = await runCoapLoad({ port: server.coapPort, datagrams, seconds, ...(rate === '' ? { inFlight: k } : { rate: Number(rate) }) });
  const c1 = await cpuSeconds(server.child.pid!);
  const th1 = await threadStats(server.child.pid!);
  // The load's window on the profile's clock (both are CLOCK_MONOTONIC µs), for analysis.
  await writeFile(join(out, 'window.json'), JSON.stringify({ from: Number(t0), to: Number(process.hrtime.bigint() / 1000n) }));
  const ok = r.codes.get(0x44) ?? 0;
  const after = await storeStats(server.port);
  const batches = after.batches - before.batches;
  console.log(`store: ${batches} batches, ${((after.commits - before.commits) / batches).toFixed(1)} commits and ${((after.ops - before.ops) / batches).toFixed(1)} ops per batch, ${((1e6 * (after.seconds - before.seconds)) / batches).toFixed(0)} µs per batch`);
  const perReq = (seconds: number) => ((seconds * 1e6) / ok).toFixed(1);
  console.log(`K=${k}: ${Math.round(ok / r.seconds)}/s, ${Math.round(((c1 - c0) * 1e6) / ok)} µs CPU/req, ${r.timeouts} timeouts, codes ${[...r.codes].map(([c, n]) => `${c >> 5}.${String(c & 31).padStart(2, '0')}×${n}`).join(' ')}`);
  console.log(`threads: main ${perReq(th1.main - th0.main)} µs/req (${perReq(th1.mainSys - th0.mainSys)} in the kernel), other ${perReq(th1.other - th0.other)} µs/req, main-thread sleeps ${((th1.sleeps - th0.sleeps) / ok).toFixed(3)}/req`);
} finally {
  await stop(server);
  await rm(dir, { recursive: true, force: true });
}

/** A server of the build in `root` ('' for this one), seeded and warmed up, with its load. */
async function warmServer(root: string, dir: string): Promise<{ server: Awaited<ReturnType<typeof start>>; datagrams: Buffer[] }> {
  const { file, args } = serverCommand('node');
  if (root !== '') args[0] = join(root, args[0]!);
  const server = await start(file, [...args, '--http', '0', '--coap', '0', '--data', dir, ...extra], { DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
  const datagrams = coapUpdateDatagrams(await seedDevices(server.port, twins, 'c-'), 'c-');
  await runCoapLoad({ port: server.coapPort, datagrams, inFlight: k, seconds: 60, maxRequests: datagrams.length });
  return { server, datagrams };
}

/** `--against`: this build (B) and the one in `root` (A) under simultaneous loads, round by round. */
async function compareBuilds(root: string): Promise<void> {
  const rounds = Number(arg('rounds', '5'));
  const dirs = [await mkdtemp(join(tmpdir(), 'doppel-ab-')), await mkdtemp(join(tmpdir(), 'doppel-ab-'))];
  const started: Partial<Record<'A' | 'B', Awaited<ReturnType<typeof warmServer>>>> = {};
  const order: Array<'A' | 'B'> = process.argv.includes('--swap') ? ['B', 'A'] : ['A', 'B'];
  type Row = { rate: number; main: number; other: number; kernel: number; sleeps: number };
  const rows: Record<'A' | 'B', Row[]> = { A: [], B: [] };
  try {
    for (const [i, name] of order.entries()) started[name] = await warmServer(name === 'A' ? root : '', dirs[i]!);
    for (let round = 0; round < rounds; round++) {
      const { A, B } = started as Required<typeof started>;
      const pids = { A: A.server.child.pid!, B: B.server.child.pid! };
      const before = { A: await threadStats(pids.A), B: await threadStats(pids.B) };
      const loads = await Promise.all((['A', 'B'] as const).map((n) => runCoapLoad({ port: started[n]!.server.coapPort, datagrams: started[n]!.datagrams, inFlight: k, seconds })));
      for (const [j, n] of (['A', 'B'] as const).entries()) {
        const after = await threadStats(pids[n]);
        const ok = loads[j]!.codes.get(0x44) ?? 0;
        const per = (x: number) => (x * 1e6) / ok;
        rows[n].push({
          rate: ok / loads[j]!.seconds, main: per(after.main - before[n].main), other: per(after.other - before[n].other),
          kernel: per(after.mainSys - before[n].mainSys), sleeps: (after.sleeps - before[n].sleeps) / ok,
        });
      }
      console.log(`round ${round + 1}: main µs/report A ${rows.A[round]!.main.toFixed(1)} B ${rows.B[round]!.main.toFixed(1)}, B/A ${(rows.B[round]!.main / rows.A[round]!.main).toFixed(3)}`);
    }
  } finally {
    for (const n of order) { const s = started[n]; if (s !== undefined) await stop(s.server); }
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2; };
  for (const key of ['rate', 'main', 'kernel', 'other', 'sleeps'] as const) {
    const a = median(rows.A.map((r) => r[key]));
    const b = median(rows.B.map((r) => r[key]));
    console.log(`${key.padEnd(6)} A ${a.toFixed(key === 'sleeps' ? 3 : 1)} B ${b.toFixed(key === 'sleeps' ? 3 : 1)} B/A ${(b / a).toFixed(3)}`);
  }
}

/**
 * CPU seconds of the main thread (its tid is the pid) and of all other threads, and the main
 * thread's voluntary context switches (Linux /proc/<pid>/task). A thread that exited meanwhile
 * drops out of `other`: the pools Node keeps live for the process's life, so none does here.
 */
async function threadStats(pid: number): Promise<{ main: number; mainSys: number; other: number; sleeps: number }> {
  let main = 0;
  let mainSys = 0;
  let other = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ');
    if (stat === undefined) continue;
    const cpu = (Number(stat[11]) + Number(stat[12])) / 100;
    if (tid === String(pid)) { main = cpu; mainSys = Number(stat[12]) / 100; } else other += cpu;
  }
  const status = await readFile(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const sleeps = Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? NaN);
  return { main, mainSys, other, sleeps };
}

async function storeStats(port: number): Promise<{ batches: number; commits: number; ops: number; seconds: number }> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  return { batches: value('doppel_store_batch_ops_count'), commits: value('doppel_store_commits_total'), ops: value('doppel_store_batch_ops_sum'), seconds: value('doppel_store_batch_duration_seconds_sum') };
}
