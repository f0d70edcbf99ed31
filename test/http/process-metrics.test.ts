/**
 * The standard process and runtime metrics (prom-client's default names: heap, external memory,
 * event-loop delay, open descriptors, GC pauses where the runtime reports them) on a real server's
 * `GET /metrics`, and the whole page in valid text exposition format 0.0.4, on Node and on Deno.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { startTestServer, TEST_RUNTIME } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const VALUE = '(?:NaN|[+-]Inf|-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)\\})? (${VALUE})$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const HELP = new RegExp(`^# HELP (${NAME}) `);

/** A sample's value in one scrape's text. */
function sampleOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Checks every line of an exposition (format 0.0.4) and returns the problems: a HELP and TYPE per
 * family before its samples, samples belonging to the family above them, histograms with an `le`
 * on every bucket and cumulative counts ending in `+Inf` equal to `_count`, counters never negative.
 */
function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith('\n')) problems.push('no final line feed');
  const seen = new Set<string>();
  let family = '';
  let type = '';
  const buckets = new Map<string, number>();
  for (const line of text.slice(0, -1).split('\n')) {
    const help = HELP.exec(line);
    const typed = TYPE.exec(line);
    const sample = SAMPLE.exec(line);
    if (help !== null) {
      if (seen.has(help[1]!)) problems.push(`family ${help[1]} twice`);
      seen.add(help[1]!);
      family = help[1]!;
      type = '';
    } else if (typed !== null) {
      if (typed[1] !== family || type !== '') problems.push(`TYPE out of place: ${line}`);
      type = typed[2]!;
    } else if (sample !== null) {
      const [, name, labels = '', raw] = sample;
      const value = Number(raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw);
      if (type === '') problems.push(`sample before its family's TYPE: ${line}`);
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
      if (!suffixes.some((s) => name === `${family}${s}`)) problems.push(`sample outside its family ${family}: ${line}`);
      if (type === 'counter' && !(value >= 0)) problems.push(`counter not >= 0: ${line}`);
      if (name === `${family}_bucket`) {
        const le = /(?:^|,)le="([^"]+)"$/.exec(labels);
        if (le === null) { problems.push(`bucket without a final le: ${line}`); continue; }
        const series = `${family}{${labels.slice(0, le.index)}}`;
        if (value < (buckets.get(series) ?? 0)) problems.push(`bucket counts go down: ${line}`);
        buckets.set(series, le[1] === '+Inf' ? -1 : value);
        if (le[1] === '+Inf') buckets.set(`${series}+Inf`, value);
      } else if (name === `${family}_count`) {
        const series = `${family}{${labels}}`;
        if (buckets.get(`${series}+Inf`) !== value) problems.push(`_count differs from the +Inf bucket: ${line}`);
      }
    } else {
      problems.push(`not exposition format: ${JSON.stringify(line)}`);
    }
  }
  return problems;
}

describe('process and runtime metrics on /metrics', () => {
  it('serves the page with the standard series in valid exposition format', async () => {
    const response = await t.call('GET', '/metrics');
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(expositionProblems(text)).toEqual([]);
    for (const family of ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes',
      'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds']) {
      expect(text).toContain(`# TYPE ${family} gauge\n`);
    }
    const used = sampleOf(text, 'nodejs_heap_size_used_bytes')!;
    expect(used).toBeGreaterThan(2 ** 20);
    expect(sampleOf(text, 'nodejs_heap_size_total_bytes')!).toBeGreaterThanOrEqual(used);
    expect(sampleOf(text, 'nodejs_external_memory_bytes')!).toBeGreaterThan(0);
  });

  it(TEST_RUNTIME === 'node' ? 'counts open file descriptors' : 'leaves open descriptors out: Deno grants /proc/self/fd only with --allow-all', async () => {
    const fds = await metric(t, 'process_open_fds');
    // stdin, stdout, stderr, the listening sockets and LevelDB's files at the least.
    if (TEST_RUNTIME === 'node') expect(fds).toBeGreaterThan(5);
    else expect(fds).toBeUndefined();
  });

  it('reports event-loop delay once the loop has run its timer', async () => {
    const p99 = await eventually(async () => { const v = await metric(t, 'nodejs_eventloop_lag_p99_seconds'); return v !== undefined && !Number.isNaN(v) ? v : undefined; }, 'a loop-delay p99');
    expect(p99).toBeGreaterThanOrEqual(0);
    // Seconds, not nanoseconds, and without the 10 ms sampling interval.
    expect(p99).toBeLessThan(60);
    // One scrape: each one starts a new window.
    const text = await (await t.call('GET', '/metrics')).text();
    expect(sampleOf(text, 'nodejs_eventloop_lag_p50_seconds')!).toBeLessThanOrEqual(sampleOf(text, 'nodejs_eventloop_lag_max_seconds')!);
  });

  it(TEST_RUNTIME === 'node' ? 'records GC pauses by kind' : 'leaves GC pauses out, which Deno does not report', async () => {
    if (TEST_RUNTIME === 'deno') {
      expect(await (await t.call('GET', '/metrics')).text()).not.toContain('nodejs_gc_duration_seconds');
      return;
    }
    // In-process on Node: garbage made here is collected by the server's process too.
    const count = await eventually(async () => {
      let junk: unknown[] = [];
      for (let i = 0; i < 200_000; i++) junk.push({ i });
      junk = [];
      const v = await metric(t, 'nodejs_gc_duration_seconds_count{kind="minor"}');
      return v !== undefined && v > 0 && junk.length === 0 ? v : undefined;
    }, 'a minor GC');
    expect(count).toBeGreaterThan(0);
    expect(expositionProblems(await (await t.call('GET', '/metrics')).text())).toEqual([]);
  });
});
