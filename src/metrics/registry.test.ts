import { describe, it, expect } from 'vitest';
import { CONTENT_TYPE, createRegistry } from './index.ts';

describe('createRegistry()', () => {
  it('renders nothing when empty', () => {
    expect(createRegistry().render()).toBe('');
  });

  it('renders an unlabelled counter from zero', () => {
    const registry = createRegistry();
    const c = registry.counter({ name: 'doppel_events_total', help: 'Change events emitted.' });
    expect(registry.render()).toBe([
      '# HELP doppel_events_total Change events emitted.',
      '# TYPE doppel_events_total counter',
      'doppel_events_total 0',
      '',
    ].join('\n'));
    c.inc();
    c.inc(undefined, 2);
    c.inc(0.5);
    expect(registry.render()).toBe([
      '# HELP doppel_events_total Change events emitted.',
      '# TYPE doppel_events_total counter',
      'doppel_events_total 3.5',
      '',
    ].join('\n'));
  });

  it('renders a labelled counter in first-seen order, labels in declared order', () => {
    const registry = createRegistry();
    const c = registry.counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'code'] });
    c.inc({ code: 404, method: 'GET' });
    c.inc({ method: 'POST', code: '201' }, 3);
    c.inc({ method: 'GET', code: '404' });
    expect(registry.render()).toBe([
      '# HELP http_requests_total Requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="GET",code="404"} 2',
      'http_requests_total{method="POST",code="201"} 3',
      '',
    ].join('\n'));
  });

  it('renders a labelled gauge after set, inc and dec', () => {
    const registry = createRegistry();
    const g = registry.gauge({ name: 'doppel_ws_sessions', help: 'Open WebSocket sessions.', labelNames: ['kind'] });
    g.set({ kind: 'app' }, 5);
    g.inc({ kind: 'device' });
    g.inc({ kind: 'device' }, 2);
    g.dec({ kind: 'app' });
    g.dec({ kind: 'app' }, 0.5);
    expect(registry.render()).toBe([
      '# HELP doppel_ws_sessions Open WebSocket sessions.',
      '# TYPE doppel_ws_sessions gauge',
      'doppel_ws_sessions{kind="app"} 3.5',
      'doppel_ws_sessions{kind="device"} 3',
      '',
    ].join('\n'));
  });

  it('renders an unlabelled gauge set by value alone', () => {
    const registry = createRegistry();
    const g = registry.gauge({ name: 'temperature', help: 'T.' });
    g.set(-1.25);
    g.inc(0.25);
    g.dec(2);
    expect(registry.render()).toBe('# HELP temperature T.\n# TYPE temperature gauge\ntemperature -3\n');
  });

  it('asks a collecting gauge for its value at every render', () => {
    const registry = createRegistry();
    let resident = 7;
    registry.gauge({ name: 'doppel_actors_resident', help: 'Twin actors in memory.', collect: () => resident });
    expect(registry.render()).toBe([
      '# HELP doppel_actors_resident Twin actors in memory.',
      '# TYPE doppel_actors_resident gauge',
      'doppel_actors_resident 7',
      '',
    ].join('\n'));
    resident = 9;
    expect(registry.render()).toContain('doppel_actors_resident 9\n');
  });

  it('renders the labelled samples a collecting gauge returns, ignoring set values', () => {
    const registry = createRegistry();
    const g = registry.gauge({
      name: 'doppel_mailbox_depth',
      help: 'Messages waiting.',
      labelNames: ['shard'],
      collect: () => [{ labels: { shard: 'b' }, value: 2 }, { labels: { shard: 0 }, value: Infinity }],
    });
    g.set({ shard: 'z' }, 100);
    expect(registry.render()).toBe([
      '# HELP doppel_mailbox_depth Messages waiting.',
      '# TYPE doppel_mailbox_depth gauge',
      'doppel_mailbox_depth{shard="b"} 2',
      'doppel_mailbox_depth{shard="0"} +Inf',
      '',
    ].join('\n'));
  });

  it('renders a histogram with cumulative buckets, +Inf, sum and count', () => {
    const registry = createRegistry();
    const h = registry.histogram({ name: 'doppel_write_seconds', help: 'Write latency.', buckets: [0.005, 0.1, 1] });
    for (const v of [0.001, 0.005, 0.05, 0.5, 3]) h.observe(v);
    expect(registry.render()).toBe([
      '# HELP doppel_write_seconds Write latency.',
      '# TYPE doppel_write_seconds histogram',
      'doppel_write_seconds_bucket{le="0.005"} 2',
      'doppel_write_seconds_bucket{le="0.1"} 3',
      'doppel_write_seconds_bucket{le="1"} 4',
      'doppel_write_seconds_bucket{le="+Inf"} 5',
      'doppel_write_seconds_sum 3.556',
      'doppel_write_seconds_count 5',
      '',
    ].join('\n'));
  });

  it('renders a labelled histogram with le after the other labels, and no series before one is seen', () => {
    const registry = createRegistry();
    const h = registry.histogram({ name: 'req_seconds', help: 'R.', labelNames: ['route'], buckets: [1, Infinity] });
    expect(registry.render()).toBe('# HELP req_seconds R.\n# TYPE req_seconds histogram\n');
    h.observe({ route: '/t' }, 2);
    expect(registry.render()).toBe([
      '# HELP req_seconds R.',
      '# TYPE req_seconds histogram',
      'req_seconds_bucket{route="/t",le="1"} 0',
      'req_seconds_bucket{route="/t",le="+Inf"} 1',
      'req_seconds_sum{route="/t"} 2',
      'req_seconds_count{route="/t"} 1',
      '',
    ].join('\n'));
  });

  it('escapes label values and help text', () => {
    const registry = createRegistry();
    registry.counter({ name: 'odd_total', help: 'Back\\slash and\nnewline "quoted".', labelNames: ['v'] }).inc({ v: 'a\\b"c\nd' });
    expect(registry.render()).toBe([
      '# HELP odd_total Back\\\\slash and\\nnewline "quoted".',
      '# TYPE odd_total counter',
      'odd_total{v="a\\\\b\\"c\\nd"} 1',
      '',
    ].join('\n'));
  });

  it('renders metrics in registration order', () => {
    const registry = createRegistry();
    registry.gauge({ name: 'b', help: 'B.' });
    registry.counter({ name: 'a', help: 'A.' });
    expect(registry.render().split('\n').filter((l) => l.startsWith('# TYPE'))).toEqual(['# TYPE b gauge', '# TYPE a counter']);
  });

  it('throws when a name is registered twice, whatever the kind', () => {
    const registry = createRegistry();
    registry.counter({ name: 'dup', help: 'x' });
    expect(() => registry.gauge({ name: 'dup', help: 'y' })).toThrow('Metric "dup" is already registered');
    expect(() => registry.histogram({ name: 'dup', help: 'y', buckets: [1] })).toThrow(/already registered/);
  });

  it('throws on invalid metric and label names', () => {
    const registry = createRegistry();
    expect(() => registry.counter({ name: '1abc', help: 'x' })).toThrow('Invalid metric name "1abc"');
    expect(() => registry.counter({ name: 'a-b', help: 'x' })).toThrow(/Invalid metric name/);
    expect(() => registry.counter({ name: 'ok', help: 'x', labelNames: ['bad-label'] })).toThrow(/invalid label name "bad-label"/);
    expect(() => registry.counter({ name: 'ok', help: 'x', labelNames: ['__reserved'] })).toThrow(/invalid label name/);
    expect(() => registry.counter({ name: 'ok', help: 'x', labelNames: ['a', 'a'] })).toThrow(/declares label "a" twice/);
    expect(() => registry.histogram({ name: 'ok', help: 'x', labelNames: ['le'], buckets: [1] })).toThrow(/reserved label "le"/);
    // A refused registration leaves the name free.
    expect(() => registry.counter({ name: 'ok', help: 'x' })).not.toThrow();
  });

  it('throws on histogram buckets that are not finite and increasing', () => {
    const registry = createRegistry();
    expect(() => registry.histogram({ name: 'h1', help: 'x', buckets: [1, 1] })).toThrow(/must increase/);
    expect(() => registry.histogram({ name: 'h2', help: 'x', buckets: [2, 1] })).toThrow(/must increase/);
    expect(() => registry.histogram({ name: 'h3', help: 'x', buckets: [Number.NaN] })).toThrow(/non-finite/);
  });

  it('throws on a missing or unknown label, and on a counter going down', () => {
    const registry = createRegistry();
    const c = registry.counter({ name: 'c_total', help: 'x', labelNames: ['a', 'b'] });
    expect(() => c.inc({ a: '1' })).toThrow('Metric "c_total" needs label "b"');
    expect(() => c.inc()).toThrow('Metric "c_total" needs label "a"');
    expect(() => c.inc({ a: '1', b: '2', z: '3' })).toThrow('Metric "c_total" has no label "z"');
    expect(() => c.inc({ a: '1', b: '2' }, -1)).toThrow(/cannot go down/);
    expect(() => c.inc({ a: '1', b: '2' }, Number.NaN)).toThrow(/cannot go down/);
    // The refused observations left no series behind.
    expect(registry.render()).toBe('# HELP c_total x\n# TYPE c_total counter\n');
    const g = registry.gauge({ name: 'g', help: 'x', collect: () => [{ labels: { nope: 'x' }, value: 1 }] });
    g.set(1);
    expect(() => registry.render()).toThrow('Metric "g" has no label "nope"');
  });

  it('throws internal errors, since misuse is a bug', () => {
    try {
      createRegistry().counter({ name: 'bad name', help: 'x' });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('internal');
    }
  });

  it('keeps the series of string and numeric label values equal to each other', () => {
    const registry = createRegistry();
    const c = registry.counter({ name: 'codes_total', help: 'x', labelNames: ['code'] });
    c.inc({ code: 200 });
    c.inc({ code: '200' });
    expect(registry.render()).toContain('codes_total{code="200"} 2\n');
  });

  it('exposes the 0.0.4 content type', () => {
    expect(CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
