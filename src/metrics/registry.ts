import { fail } from '../errors.ts';
import { createCounter } from './counter.ts';
import { createGauge } from './gauge.ts';
import { createHistogram } from './histogram.ts';
import type { MetricFamily, MetricsRegistry } from './types.ts';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkLabelNames(metric: string, labelNames: readonly string[]): readonly string[] {
  const seen = new Set<string>();
  for (const label of labelNames) {
    // Names starting with __ are reserved for Prometheus itself.
    if (!LABEL_NAME.test(label) || label.startsWith('__')) throw fail('internal', `Metric "${metric}" has an invalid label name "${label}"`);
    if (seen.has(label)) throw fail('internal', `Metric "${metric}" declares label "${label}" twice`);
    seen.add(label);
  }
  return [...labelNames];
}

/**
 * Creates an empty registry. Metrics render in registration order; their series in the order
 * first seen. Misuse (a duplicate or invalid name, a missing label) throws `internal`: it is a bug.
 *
 * @example
 * ```ts
 * const metrics = createRegistry();
 * const requests = metrics.counter({ name: 'doppel_http_requests_total', help: 'HTTP requests.', labelNames: ['code'] });
 * requests.inc({ code: 200 });
 * metrics.render(); // '# HELP doppel_http_requests_total HTTP requests.\n# TYPE … counter\ndoppel_http_requests_total{code="200"} 1\n'
 * ```
 */
export function createRegistry(): MetricsRegistry {
  const families: MetricFamily[] = [];
  const names = new Set<string>();

  function register<H>(options: { name: string; labelNames?: readonly string[] }, build: (labelNames: readonly string[]) => { handle: H; family: MetricFamily }): H {
    const { name } = options;
    if (!METRIC_NAME.test(name)) throw fail('internal', `Invalid metric name "${name}"`);
    if (names.has(name)) throw fail('internal', `Metric "${name}" is already registered`);
    const { handle, family } = build(checkLabelNames(name, options.labelNames ?? []));
    names.add(name);
    families.push(family);
    return handle;
  }

  return {
    counter: (options) => register(options, (labelNames) => createCounter(options, labelNames)),
    gauge: (options) => register(options, (labelNames) => createGauge(options, labelNames)),
    histogram: (options) => register(options, (labelNames) => createHistogram(options, labelNames)),
    render() {
      const out: string[] = [];
      for (const family of families) family.render(out);
      return out.length === 0 ? '' : `${out.join('\n')}\n`;
    },
  };
}
