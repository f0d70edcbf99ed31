/**
 * @module
 * A tiny dependency-free Prometheus metrics registry: counters, gauges (set directly or collected
 * at render time) and histograms, rendered in text exposition format 0.0.4 for `GET /metrics`.
 *
 * @example
 * ```ts
 * const metrics = createRegistry();
 * const latency = metrics.histogram({ name: 'doppel_http_seconds', help: 'Request time.', buckets: [0.01, 0.1, 1] });
 * latency.observe(0.042);
 * return new Response(metrics.render(), { headers: { 'content-type': CONTENT_TYPE } });
 * ```
 */

export { createRegistry } from './registry.ts';
export { registerProcessMetrics } from './process.ts';
export { CONTENT_TYPE } from './text.ts';
export type {
  Counter, CounterOptions, Gauge, GaugeOptions, GaugeSample, Histogram, HistogramOptions, Labels, MetricsRegistry,
} from './types.ts';
