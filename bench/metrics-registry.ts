/**
 * Doppel's own metrics registry (src/metrics) against prom-client, in one process and one run:
 * the per-request hot path (what protocols/http and protocols/coap do for every request) and a
 * `/metrics` render with a realistic series count. Each case runs in alternating rounds so both
 * registries see the same machine load; the median round is reported. `ours+process` adds the
 * standard process/runtime series (src/metrics/process.ts) to show what sampling them costs a scrape.
 *
 * Run: `npm run build && node dist/bench/metrics-registry.js [rounds]`.
 */
import { createRequire } from 'node:module';
import * as prom from 'prom-client';
import { createRegistry, registerProcessMetrics } from '../src/metrics/index.ts';
import { loadRuntime } from '../src/runtime/index.ts';
import type { Runtime } from '../src/runtime/types.ts';

const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const COAP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const ROUTES = ['/v1/twins', '/v1/twins/:id', '/v1/twins/:id/desired', '/v1/twins/:id/reported', '/v1/twins/:id/history', '/v1/twins/:id/events', '/v1/twins/:id/token', '/v1/keys', '/v1/keys/:id', '/v1/query', '/healthz', '/readyz', '/metrics', '/openapi.json'];
const METHODS = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'];
const STATUSES = ['200', '201', '204', '400', '404', '409', '412', '429'];
const COAP = [['GET', '2.05'], ['PUT', '2.04'], ['POST', '2.04'], ['GET', '4.04'], ['PUT', '4.00'], ['FETCH', '2.05']] as const;

const promVersion = (createRequire(import.meta.url)('prom-client/package.json') as { version: string }).version;

/** The label sets a busy server sees, cycled through by the hot-path loops. */
const HTTP_LABELS = ROUTES.flatMap((route, r) => METHODS.slice(0, 1 + (r % 4)).map((method, m) => ({ route, method, status: STATUSES[(r + m) % STATUSES.length] as string })));

/** The registry operations Doppel's call sites use, whatever the implementation. */
interface Subject {
  readonly name: string;
  /** One HTTP request: count it (3 labels) and time it (2 labels). */
  http(i: number): void;
  /** One CoAP request: count it (2 labels) and time it (1 label). */
  coap(i: number): void;
  render(): string | Promise<string>;
}

/** Ours; with `runtime`, also the process and runtime series server.ts registers (sampled per render). */
function ours(runtime?: Runtime): Subject {
  const registry = createRegistry();
  if (runtime !== undefined) registerProcessMetrics(registry, { usage: runtime.processUsage, startSampler: runtime.startMetricsSampler, startTimeSeconds: 0 });
  const requests = registry.counter({ name: 'doppel_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'] });
  const latency = registry.histogram({ name: 'doppel_http_request_duration_seconds', help: 'HTTP latency', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS });
  const coapRequests = registry.counter({ name: 'doppel_coap_requests_total', help: 'CoAP requests', labelNames: ['method', 'code'] });
  const coapLatency = registry.histogram({ name: 'doppel_coap_request_duration_seconds', help: 'CoAP latency', labelNames: ['method'], buckets: COAP_BUCKETS });
  for (let i = 0; i < 12; i++) registry.gauge({ name: `doppel_collected_${i}`, help: 'A collected gauge', collect: () => i });
  return {
    name: runtime === undefined ? 'ours' : 'ours+process',
    http(i) {
      const l = HTTP_LABELS[i % HTTP_LABELS.length]!;
      requests.inc({ method: l.method, route: l.route, status: l.status });
      latency.observe({ method: l.method, route: l.route }, (i % 1000) / 50_000);
    },
    coap(i) {
      const [method, code] = COAP[i % COAP.length]!;
      coapRequests.inc({ method, code });
      coapLatency.observe({ method }, (i % 1000) / 50_000);
    },
    render: () => registry.render(),
  };
}

function promClient(): Subject {
  const registers = [new prom.Registry()];
  const requests = new prom.Counter({ name: 'doppel_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers });
  const latency = new prom.Histogram({ name: 'doppel_http_request_duration_seconds', help: 'HTTP latency', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS, registers });
  const coapRequests = new prom.Counter({ name: 'doppel_coap_requests_total', help: 'CoAP requests', labelNames: ['method', 'code'], registers });
  const coapLatency = new prom.Histogram({ name: 'doppel_coap_request_duration_seconds', help: 'CoAP latency', labelNames: ['method'], buckets: COAP_BUCKETS, registers });
  for (let i = 0; i < 12; i++) new prom.Gauge({ name: `doppel_collected_${i}`, help: 'A collected gauge', registers, collect() { this.set(i); } });
  return {
    name: 'prom-client',
    http(i) {
      const l = HTTP_LABELS[i % HTTP_LABELS.length]!;
      requests.inc({ method: l.method, route: l.route, status: l.status });
      latency.observe({ method: l.method, route: l.route }, (i % 1000) / 50_000);
    },
    coap(i) {
      const [method, code] = COAP[i % COAP.length]!;
      coapRequests.inc({ method, code });
      coapLatency.observe({ method }, (i % 1000) / 50_000);
    },
    render: () => registers[0]!.metrics(),
  };
}

/** Nanoseconds per call of `op` over `n` calls. */
function timeSync(n: number, op: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

async function timeRender(n: number, subject: Subject): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await subject.render();
  return Number(process.hrtime.bigint() - t0) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface RegistryCosts {
  readonly name: string;
  /** ns per HTTP request (counter inc, 3 labels + histogram observe, 2 labels). */
  readonly httpNs: number;
  /** ns per CoAP request (counter inc, 2 labels + histogram observe, 1 label). */
  readonly coapNs: number;
  /** µs per `/metrics` render. */
  readonly renderUs: number;
  readonly renderLines: number;
}

/** Measures both registries in alternating rounds; returns the median round of each. */
export async function compareRegistries(rounds = 7, ops = 200_000, renders = 200): Promise<RegistryCosts[]> {
  const subjects = [ours(), promClient(), ours(await loadRuntime())];
  // Every series exists before timing: a scrape sees a warmed-up server.
  for (const s of subjects) for (let i = 0; i < 10_000; i++) { s.http(i); s.coap(i); }
  const samples = subjects.map(() => ({ http: [] as number[], coap: [] as number[], render: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [k, s] of subjects.entries()) {
      samples[k]!.http.push(timeSync(ops, (i) => s.http(i)));
      samples[k]!.coap.push(timeSync(ops, (i) => s.coap(i)));
      samples[k]!.render.push(await timeRender(renders, s) / 1000);
    }
  }
  return Promise.all(subjects.map(async (s, k) => ({
    name: s.name,
    httpNs: median(samples[k]!.http),
    coapNs: median(samples[k]!.coap),
    renderUs: median(samples[k]!.render),
    renderLines: (await s.render()).split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
  })));
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const results = await compareRegistries(rounds);
  const runtime = process.versions.deno === undefined ? `node ${process.version}` : `deno ${process.versions.deno}`;
  console.log(`${runtime}, prom-client ${promVersion}, ${rounds} alternating rounds, median round; ${HTTP_LABELS.length} HTTP label sets`);
  console.log('registry      http req (ns)  coap req (ns)  /metrics render (µs)  samples');
  for (const r of results) {
    console.log(`${r.name.padEnd(12)}  ${r.httpNs.toFixed(0).padStart(13)}  ${r.coapNs.toFixed(0).padStart(13)}  ${r.renderUs.toFixed(0).padStart(20)}  ${String(r.renderLines).padStart(7)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main().catch((err: unknown) => { console.error(err); process.exit(1); });
