/**
 * A fleet job under device load, in one run: devices send CoAP reports at a fixed rate for 5 s
 * without a job, then in 3 s windows while a job (a desired patch) walks `jobTwins` twins, then 5 s
 * without the job again. The quiet windows before and after frame the busy ones, so a machine whose
 * other load drifts during a long job does not pass for the job's effect. Reports job throughput,
 * server CPU per twin and the devices' p50/p99 with and without the job, and from the server's
 * /metrics, per phase, what may explain a difference: event-loop delay, GC pauses, commit time.
 */
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { percentile } from './http-load.ts';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds } from './server-process.ts';
import type { Started } from './server-process.ts';

const auth = { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' };
const QUIET_SECONDS = 5;
const WINDOW_SECONDS = 3;
/** Reports before the first measured window: new devices' first contacts and the code path warm up. */
const WARMUP_SECONDS = 3;

export interface JobUnderLoadOptions { jobTwins: number; reportRate: number; devices: number; log: (line: string) => void }

interface JobJson { status: string; done: number; createdAt: string; endedAt: string }

/** The twins `fleet-<i>` (tagged site berlin) must exist; devices `dev-<i>` are created here. */
export async function jobUnderLoad(server: Started, opts: JobUnderLoadOptions): Promise<void> {
  const devices = await seedDevices(server.port, opts.devices, 'dev-');
  const datagrams = coapUpdateDatagrams(devices, 'dev-');
  const reports = (seconds: number) => runCoapLoad({ port: server.coapPort, datagrams, seconds, rate: opts.reportRate, timeoutMs: 5000 });
  // Every device's first contacts (token check, actor activation) come before anything is measured.
  await runCoapLoad({ port: server.coapPort, datagrams, seconds: 120, inFlight: 4, maxRequests: datagrams.length * 3, timeoutMs: 5000 });
  await reports(WARMUP_SECONDS);
  const phases: Array<{ name: string; m: Metrics }> = [{ name: 'start', m: await scrape(server) }];
  const before = await reports(QUIET_SECONDS);
  phases.push({ name: 'without the job (before)', m: await scrape(server) });
  const cpu0 = await cpuSeconds(server.child.pid!);
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/jobs`, { method: 'POST', headers: auth, body: JSON.stringify({ filter: 'tags.site == "berlin"', prefix: 'fleet-', desired: { fw: '2.0' } }) });
  const { id } = await res.json() as { id: string };
  if (res.status !== 202) throw new Error(`job refused: ${res.status}`);
  // Only windows that ended with the job still running count as "with the job" (the first counts
  // anyway, if the job is shorter than one).
  const busy: number[] = [];
  let windows = 0;
  for (;;) {
    const r = await reports(WINDOW_SECONDS);
    const { status } = await readJob(server, id);
    if (status === 'running' || windows === 0) { busy.push(...r.latenciesMs); windows++; }
    if (status !== 'running') break;
  }
  const ended = await waitEnded(server, id);
  const seconds = (Date.parse(ended.endedAt) - Date.parse(ended.createdAt)) / 1000;
  const cpu = (await cpuSeconds(server.child.pid!)) - cpu0;
  phases.push({ name: 'with the job', m: await scrape(server) });
  const after = await reports(QUIET_SECONDS);
  phases.push({ name: 'without the job (after)', m: await scrape(server) });
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const fmt = (xs: number[]) => { const s = sorted(xs); return `p50 ${percentile(s, 50).toFixed(2)} ms, p99 ${percentile(s, 99).toFixed(2)} ms (${s.length} reports)`; };
  opts.log(`| fleet job over ${opts.jobTwins.toLocaleString('en')} twins, ${opts.devices} devices reporting over CoAP at ${opts.reportRate}/s | result |`);
  opts.log('|---|---|');
  opts.log(`| job throughput | ${Math.round(ended.done / seconds).toLocaleString('en')} twins/s (${ended.done.toLocaleString('en')} in ${seconds.toFixed(1)} s; server CPU ${(cpu * 1e6 / ended.done).toFixed(0)} µs per twin incl. the reports) |`);
  opts.log(`| device report latency without the job (${QUIET_SECONDS} s before and ${QUIET_SECONDS} s after) | ${fmt([...before.latenciesMs, ...after.latenciesMs])}; before: ${fmt(before.latenciesMs)}; after: ${fmt(after.latenciesMs)} |`);
  opts.log(`| device report latency with the job running | ${fmt(busy)} |`);
  opts.log('');
  opts.log('| server, by phase | event-loop delay p99 / max | GC pauses (major + minor) per second | mean commit batch time |');
  opts.log('|---|---|---|---|');
  for (let i = 1; i < phases.length; i++) opts.log(phaseRow(phases[i]!.name, phases[i - 1]!.m, phases[i]!.m));
  opts.log('');
}

type Metrics = { at: number; values: Map<string, number> };

/** The server's /metrics, by series (name with labels); scraping also starts a new event-loop delay window. */
async function scrape(server: Started): Promise<Metrics> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: auth })).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' ');
    if (line.startsWith('#') || at < 0) continue;
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { at: performance.now(), values };
}

function phaseRow(name: string, from: Metrics, to: Metrics): string {
  const delta = (series: string) => (to.values.get(series) ?? 0) - (from.values.get(series) ?? 0);
  const seconds = (to.at - from.at) / 1000;
  const gc = delta('nodejs_gc_duration_seconds_sum{kind="major"}') + delta('nodejs_gc_duration_seconds_sum{kind="minor"}');
  const batchMs = (delta('doppel_store_batch_duration_seconds_sum') / Math.max(1, delta('doppel_store_batch_duration_seconds_count'))) * 1000;
  const lag = (q: string) => ((to.values.get(`nodejs_eventloop_lag_${q}_seconds`) ?? Number.NaN) * 1000).toFixed(1);
  return `| ${name} | ${lag('p99')} / ${lag('max')} ms | ${((gc / seconds) * 1000).toFixed(1)} ms/s | ${batchMs.toFixed(2)} ms |`;
}

async function readJob(server: Started, id: string): Promise<JobJson> {
  return await (await fetch(`http://127.0.0.1:${server.port}/v1/jobs/${id}`, { headers: auth })).json() as JobJson;
}

async function waitEnded(server: Started, id: string): Promise<JobJson> {
  for (;;) {
    const job = await readJob(server, id);
    if (job.status !== 'running') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}
