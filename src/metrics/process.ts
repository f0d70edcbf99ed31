/**
 * @module
 * The standard process and runtime metrics operators expect from a Node service, under
 * prom-client's default-metric names so stock dashboards and alerts work unchanged: CPU, memory,
 * start time, open descriptors, heap, event-loop delay and GC pauses. The figures come from the
 * runtime adapter (src/runtime), the only place that knows Node from Deno.
 */
import type { GcKind, MetricsSampler, RuntimeSample } from '../runtime/types.ts';
import type { MetricsRegistry } from './types.ts';

export interface ProcessSources {
  /** Resident memory and CPU time so far (`Runtime.processUsage`). */
  usage(): { rssBytes: number; cpuSeconds: number };
  /** `Runtime.startMetricsSampler`. */
  startSampler(onGc: (kind: GcKind, seconds: number) => void): MetricsSampler;
  /** Unix time in seconds when the process started. */
  readonly startTimeSeconds: number;
}

/** prom-client's buckets for GC pauses: minor collections sit under 1 ms, a bad major one near seconds. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

const LOOP_DELAY = [
  ['min', 'The minimum'], ['max', 'The maximum'], ['mean', 'The mean'], ['stddev', 'The standard deviation of the'],
  ['p50', 'The 50th percentile of the'], ['p90', 'The 90th percentile of the'], ['p99', 'The 99th percentile of the'],
] as const;

/**
 * Registers the process and runtime metrics and starts sampling; call the returned function on
 * shutdown (it stops the loop-delay timer and the GC observer).
 */
export function registerProcessMetrics(metrics: MetricsRegistry, sources: ProcessSources): () => void {
  const { usage } = sources;
  metrics.gauge({ name: 'process_resident_memory_bytes', help: 'Resident set size of the server process', collect: () => usage().rssBytes });
  metrics.counter({ name: 'process_cpu_seconds_total', help: 'User and system CPU time of the server process', collect: () => usage().cpuSeconds });
  metrics.gauge({ name: 'process_start_time_seconds', help: 'When the server process started (Unix time)', collect: () => sources.startTimeSeconds });

  let gc: ((kind: GcKind, seconds: number) => void) | undefined;
  const sampler = sources.startSampler((kind, seconds) => gc?.(kind, seconds));
  // One sample per scrape: a render is synchronous, so every gauge below reads the same sample and
  // the loop-delay window resets once.
  let current: RuntimeSample | undefined;
  const sample = (): RuntimeSample => {
    if (current === undefined) {
      current = sampler.sample();
      queueMicrotask(() => { current = undefined; });
    }
    return current;
  };

  if (sampler.sample().openFds !== undefined) {
    metrics.gauge({ name: 'process_open_fds', help: 'Number of open file descriptors', collect: () => sample().openFds ?? Number.NaN });
  }
  metrics.gauge({ name: 'nodejs_heap_size_total_bytes', help: 'Process heap size from the JavaScript engine in bytes', collect: () => sample().heapTotalBytes });
  metrics.gauge({ name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from the JavaScript engine in bytes', collect: () => sample().heapUsedBytes });
  metrics.gauge({ name: 'nodejs_external_memory_bytes', help: 'Memory held outside the JavaScript heap (buffers) in bytes', collect: () => sample().externalBytes });
  for (const [stat, what] of LOOP_DELAY) {
    metrics.gauge({
      name: `nodejs_eventloop_lag_${stat}_seconds`,
      help: `${what} event loop delay since the previous scrape: how late a 10 ms timer ran (NaN before it first fires)`,
      collect: () => sample().loopDelay?.[stat] ?? Number.NaN,
    });
  }
  if (sampler.observesGc) {
    const histogram = metrics.histogram({
      name: 'nodejs_gc_duration_seconds', help: 'Garbage collection pauses by kind: minor, major, incremental or weakcb',
      labelNames: ['kind'], buckets: GC_BUCKETS,
    });
    gc = (kind, seconds) => histogram.observe({ kind }, seconds);
  }
  return () => sampler.stop();
}
