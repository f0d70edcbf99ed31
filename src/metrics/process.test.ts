import { describe, it, expect } from 'vitest';
import type { GcKind, MetricsSampler, RuntimeSample } from '../runtime/types.ts';
import { createRegistry, registerProcessMetrics } from './index.ts';

/** A sampler that reports what the test sets, and counts how often it is asked. */
function scriptedSampler(observesGc: boolean, next: Partial<RuntimeSample>) {
  const state = { samples: 0, stopped: false, onGc: undefined as ((kind: GcKind, seconds: number) => void) | undefined, next };
  const start = (onGc: (kind: GcKind, seconds: number) => void): MetricsSampler => {
    state.onGc = onGc;
    return {
      observesGc,
      sample: () => {
        state.samples++;
        return { heapUsedBytes: 1, heapTotalBytes: 2, externalBytes: 3, loopDelay: undefined, openFds: undefined, ...state.next };
      },
      stop: () => { state.stopped = true; },
    };
  };
  return { state, start };
}

const usage = () => ({ rssBytes: 5e7, cpuSeconds: 1.5 });
const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `));

describe('registerProcessMetrics()', () => {
  it('renders the process and runtime series under the standard names, NaN for loop delay before it is measured', () => {
    const metrics = createRegistry();
    const sampler = scriptedSampler(false, { openFds: 12 });
    registerProcessMetrics(metrics, { usage, startSampler: sampler.start, startTimeSeconds: 1_700_000_000 });
    const text = metrics.render();
    expect(line(text, 'process_resident_memory_bytes')).toBe('process_resident_memory_bytes 50000000');
    expect(line(text, 'process_cpu_seconds_total')).toBe('process_cpu_seconds_total 1.5');
    expect(line(text, 'process_start_time_seconds')).toBe('process_start_time_seconds 1700000000');
    expect(line(text, 'process_open_fds')).toBe('process_open_fds 12');
    expect(line(text, 'nodejs_heap_size_used_bytes')).toBe('nodejs_heap_size_used_bytes 1');
    expect(line(text, 'nodejs_heap_size_total_bytes')).toBe('nodejs_heap_size_total_bytes 2');
    expect(line(text, 'nodejs_external_memory_bytes')).toBe('nodejs_external_memory_bytes 3');
    expect(line(text, 'nodejs_eventloop_lag_p99_seconds')).toBe('nodejs_eventloop_lag_p99_seconds NaN');
    expect(text).toContain('# TYPE process_cpu_seconds_total counter\n');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_p50_seconds gauge\n');
    // Deno: GC pauses are not observable, so the histogram is not there to mislead.
    expect(text).not.toContain('nodejs_gc_duration_seconds');
  });

  it('samples once per render, whatever the number of gauges reading it', async () => {
    const metrics = createRegistry();
    const sampler = scriptedSampler(false, { openFds: 4 });
    registerProcessMetrics(metrics, { usage, startSampler: sampler.start, startTimeSeconds: 0 });
    const before = sampler.state.samples;
    metrics.render();
    expect(sampler.state.samples).toBe(before + 1);
    await Promise.resolve();
    sampler.state.next = { openFds: 5, loopDelay: { min: 0, max: 0.2, mean: 0.01, stddev: 0.02, p50: 0.001, p90: 0.05, p99: 0.125 } };
    const text = metrics.render();
    expect(sampler.state.samples).toBe(before + 2);
    expect(line(text, 'process_open_fds')).toBe('process_open_fds 5');
    expect(line(text, 'nodejs_eventloop_lag_p99_seconds')).toBe('nodejs_eventloop_lag_p99_seconds 0.125');
    expect(line(text, 'nodejs_eventloop_lag_max_seconds')).toBe('nodejs_eventloop_lag_max_seconds 0.2');
  });

  it('leaves process_open_fds out where descriptors cannot be counted', () => {
    const metrics = createRegistry();
    registerProcessMetrics(metrics, { usage, startSampler: scriptedSampler(false, {}).start, startTimeSeconds: 0 });
    expect(metrics.render()).not.toContain('process_open_fds');
  });

  it('records GC pauses by kind where the runtime observes them, and stops the sampler', () => {
    const metrics = createRegistry();
    const sampler = scriptedSampler(true, {});
    const stop = registerProcessMetrics(metrics, { usage, startSampler: sampler.start, startTimeSeconds: 0 });
    sampler.state.onGc?.('minor', 0.0004);
    sampler.state.onGc?.('major', 0.05);
    const text = metrics.render();
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram\n');
    expect(text).toContain('nodejs_gc_duration_seconds_bucket{kind="minor",le="0.001"} 1\n');
    expect(text).toContain('nodejs_gc_duration_seconds_bucket{kind="major",le="0.01"} 0\n');
    expect(text).toContain('nodejs_gc_duration_seconds_count{kind="major"} 1\n');
    stop();
    expect(sampler.state.stopped).toBe(true);
  });
});
