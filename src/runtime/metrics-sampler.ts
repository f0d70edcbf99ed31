/**
 * @module
 * The event-loop, heap, file-descriptor and GC figures behind the standard `nodejs_*` and
 * `process_*` metrics. Both adapters use this: `node:perf_hooks` exists on Deno 2 too; what
 * differs (memory, descriptors, whether GC is observable, how loop delay is counted) each adapter
 * passes in.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { GcKind, MetricsSampler, RuntimeSample } from './types.ts';

/** How often the loop-delay timer fires. prom-client's default; one wake-up per 10 ms is noise. */
const LOOP_RESOLUTION_MS = 10;

export interface SamplerParts {
  memory(): { heapUsed: number; heapTotal: number; external: number };
  /** Open descriptors, or undefined where they cannot be counted (no /proc). */
  openFds(): number | undefined;
  /** Whether GC performance entries arrive (Node) or are accepted and never sent (Deno 2.9). */
  readonly observesGc: boolean;
  /**
   * Node's histogram records the whole timer interval (at rest its minimum is the 10 ms
   * resolution); Deno's records only the delay past it. Subtracting makes both mean "late by".
   */
  readonly delayIncludesResolution: boolean;
}

const GC_KINDS = new Map<number, GcKind>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

export function createMetricsSampler(parts: SamplerParts, onGc: (kind: GcKind, seconds: number) => void): MetricsSampler {
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  delay.enable();
  const offsetNs = parts.delayIncludesResolution ? LOOP_RESOLUTION_MS * 1e6 : 0;
  const seconds = (ns: number) => Math.max(0, ns - offsetNs) / 1e9;
  let loop: RuntimeSample['loopDelay'];
  let observer: PerformanceObserver | undefined;
  if (parts.observesGc) {
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // Node ≥ 16 puts the kind in `detail` (typed loosely by @types/node).
        const kind = GC_KINDS.get((entry as { detail?: { kind?: number } }).detail?.kind ?? -1);
        if (kind !== undefined) onGc(kind, entry.duration / 1000);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return {
    observesGc: parts.observesGc,
    sample(): RuntimeSample {
      const memory = parts.memory();
      // The figures cover the time since the previous scrape, as prom-client's do. A scrape
      // closer than 10 ms after the last one sees no new timer run: it repeats the last figures.
      if (delay.count > 0) {
        loop = {
          min: seconds(delay.min), max: seconds(delay.max), mean: seconds(delay.mean), stddev: delay.stddev / 1e9,
          p50: seconds(delay.percentile(50)), p90: seconds(delay.percentile(90)), p99: seconds(delay.percentile(99)),
        };
        delay.reset();
      }
      return { heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, externalBytes: memory.external, loopDelay: loop, openFds: parts.openFds() };
    },
    stop() {
      delay.disable();
      observer?.disconnect();
    },
  };
}
