/**
 * The example Grafana dashboard (deploy/grafana/doppel-dashboard.json) and the alert rules in its
 * README stay honest: the JSON has what Grafana needs to import it, and every metric a query names
 * is one a real server exposes on `GET /metrics` after some HTTP, WebSocket and CoAP traffic, used
 * the way its `# TYPE` allows (`rate` on counters and histogram parts, `histogram_quantile` on
 * histogram buckets, gauges as they are). Metrics only Node exports are held to that on Node; on
 * Deno (`DOPPEL_TEST_RUNTIME=deno`) they must be absent, and their panels must say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from './parse.ts';
import { familyIn, maskStrings, metricRefs, parseExposition, problemsOf } from './promql.ts';
import type { Exposition } from './promql.ts';
import { read } from './recipes.ts';
import { RawClient, createTwin } from '../coap/helpers.ts';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { IN_PROCESS, TEST_RUNTIME, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';

const DASHBOARD = 'deploy/grafana/doppel-dashboard.json';
const README = 'deploy/grafana/README.md';
/** The rows, top to bottom; the README describes each. */
const ROWS = ['Overview', 'HTTP', 'CoAP', 'WebSocket', 'Storage', 'Actors', 'Process', 'Runtime'];
/**
 * Families a server on Deno does not export (src/metrics/process.ts): Deno grants /proc/self/fd
 * only with --allow-all and reports no GC entries.
 */
const NODE_ONLY = new Set(['process_open_fds', 'nodejs_gc_duration_seconds']);
const DS_UID = '${datasource}';

// --- the dashboard ---------------------------------------------------------------------------

interface GridPos { h: number; w: number; x: number; y: number }
interface Target { expr?: unknown; refId?: unknown; datasource?: { type?: string; uid?: string } }
interface Panel {
  id?: unknown; type?: unknown; title?: unknown; description?: unknown; gridPos?: GridPos; collapsed?: boolean;
  datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[];
}
interface Variable { name: string; type: string; query?: unknown; datasource?: { uid?: string }; includeAll?: boolean; multi?: boolean }
interface Dashboard {
  title?: unknown; uid?: unknown; schemaVersion?: unknown; id?: unknown; panels?: Panel[];
  templating?: { list?: Variable[] }; __inputs?: Array<{ name: string; type: string; pluginId: string }>;
}

const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
/** Top-level panels, with the panels of collapsed rows after their row. */
const allPanels = (d: Dashboard): Panel[] => (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = (d: Dashboard) => allPanels(d).filter((p) => p.type !== 'row');
const exprsOf = (d: Dashboard) => queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: String(p.title), expr: String(t.expr) })));

/** The Prometheus rule file shown in the README (its one ```yaml block with `groups:`). */
interface Rule { alert: string; expr: string; for: string; labels: { severity: string }; annotations: { summary: string } }
function readmeRules(): Rule[] {
  const blocks = [...read(README).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^groups:/m.test(b));
  expect(blocks).toHaveLength(1);
  const [doc] = parseYaml(blocks[0]!) as Array<{ groups: Array<{ name: string; rules: Rule[] }> }>;
  return doc!.groups.flatMap((g) => g.rules);
}

describe('Grafana dashboard: structure', () => {
  it('parses, and has a title, a stable uid and a schemaVersion', () => {
    expect(dashboard.title).toEqual(expect.any(String));
    expect(String(dashboard.title)).not.toBe('');
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(Number.isInteger(dashboard.schemaVersion) && (dashboard.schemaVersion as number) >= 36).toBe(true);
    expect(dashboard.id ?? null).toBeNull(); // import assigns the id
  });

  it('every panel has a unique id, a type and a gridPos inside the 24-column grid; none overlap', () => {
    const panels = allPanels(dashboard);
    expect(panels.length).toBeGreaterThan(0);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const taken = new Map<string, string>();
    for (const p of panels) {
      expect(p.type, `panel ${String(p.title)}`).toEqual(expect.any(String));
      expect(Number.isInteger(p.id), `id of ${String(p.title)}`).toBe(true);
      const g = p.gridPos!;
      expect([g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0), `gridPos of ${String(p.title)}`).toBe(true);
      expect(g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, `gridPos of ${String(p.title)}`).toBe(true);
      if (p.type === 'row' && p.collapsed === true) continue; // its panels are laid out when it opens
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          expect(taken.get(cell), `${String(p.title)} overlaps at ${cell}`).toBeUndefined();
          taken.set(cell, String(p.title));
        }
      }
    }
  });

  it(`has the rows ${ROWS.join(', ')}, each panel below its row`, () => {
    const top = dashboard.panels ?? [];
    expect(top.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(ROWS);
    expect(top[0]!.type).toBe('row');
    let rowY = -1;
    let nextRowY = Infinity;
    top.forEach((p, i) => {
      if (p.type === 'row') {
        rowY = p.gridPos!.y;
        nextRowY = top.slice(i + 1).find((q) => q.type === 'row')?.gridPos!.y ?? Infinity;
        return;
      }
      expect(p.gridPos!.y > rowY && p.gridPos!.y + p.gridPos!.h <= nextRowY, `${String(p.title)} sits in its row`).toBe(true);
    });
  });

  it('the Overview row starts with the stats an operator looks at first', () => {
    const top = dashboard.panels ?? [];
    const overview = top.slice(1, top.findIndex((p, i) => i > 0 && p.type === 'row'));
    expect(overview.every((p) => p.type === 'stat')).toBe(true);
    const exprs = overview.flatMap((p) => (p.targets ?? []).map((t) => String(t.expr))).join('\n');
    for (const name of ['up', 'doppel_twins_out_of_sync', 'doppel_oldest_pending_delta_seconds', 'doppel_actors_resident', 'doppel_streams_open', 'process_resident_memory_bytes']) {
      expect(exprs).toContain(`${name}{`);
    }
  });

  it('queries go to the chosen Prometheus data source: a datasource variable, plus job and instance variables', () => {
    const vars = dashboard.templating?.list ?? [];
    const ds = vars.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance']) {
      const v = vars.find((x) => x.name === name);
      expect(v, name).toMatchObject({ type: 'query', datasource: { uid: DS_UID } });
      expect(JSON.stringify(v!.query)).toMatch(new RegExp(`label_values\\([^)]*, ${name}\\)`));
    }
    for (const p of queryPanels(dashboard)) {
      expect(p.datasource?.uid, `datasource of ${String(p.title)}`).toBe(DS_UID);
      expect(p.targets?.length, `targets of ${String(p.title)}`).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `refIds of ${String(p.title)}`).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.expr, `expr in ${String(p.title)}`).toEqual(expect.any(String));
        expect(String(t.expr).trim()).not.toBe('');
        expect(t.refId).toEqual(expect.any(String));
        expect(t.datasource?.uid ?? DS_UID).toBe(DS_UID);
      }
    }
  });

  it('panels on metrics only Node exports say that they stay empty on Deno', () => {
    const nodeOnly = queryPanels(dashboard).filter((p) =>
      (p.targets ?? []).some((t) => metricRefs(maskStrings(String(t.expr))).some((r) => familyIn(r.name, NODE_ONLY) !== undefined)));
    expect(nodeOnly.map((p) => p.title)).toEqual(['Open file descriptors', 'GC pauses by kind', 'GC pause p99 / mean by kind']);
    for (const p of nodeOnly) expect(String(p.description), String(p.title)).toMatch(/empty for a server on Deno/);
  });

  it('the README tells how to import it, and describes every row', () => {
    const readme = read(README);
    expect(readme).toContain('doppel-dashboard.json');
    expect(readme).toMatch(/import/i);
    expect(ROWS.filter((row) => !readme.includes(`**${row}**`))).toEqual([]);
  });
});

describe('PromQL checks (negative control)', () => {
  const exp = parseExposition([
    '# TYPE doppel_c_total counter', 'doppel_c_total 1',
    '# TYPE doppel_g gauge', 'doppel_g 1',
    '# TYPE nodejs_eventloop_lag_p99_seconds gauge', 'nodejs_eventloop_lag_p99_seconds 0.001',
    '# TYPE doppel_e_total counter',
    '# TYPE doppel_h_seconds histogram', 'doppel_h_seconds_bucket{le="+Inf"} 1', 'doppel_h_seconds_sum 1', 'doppel_h_seconds_count 1',
  ].join('\n'));
  const sel = '{job=~"$job", instance=~"$instance"}';
  const check = (expr: string) => problemsOf(expr, exp, { templated: true });

  it('accepts correct uses', () => {
    expect(check(`sum by (x) (label_replace(rate(doppel_c_total${sel}[$__rate_interval]), "y", "$1", "x", "(.)"))`)).toEqual([]);
    expect(check(`histogram_quantile(0.99, sum by (le) (rate(doppel_h_seconds_bucket${sel}[$__rate_interval])))`)).toEqual([]);
    expect(check(`rate(doppel_h_seconds_sum${sel}[$__rate_interval]) / rate(doppel_h_seconds_count${sel}[$__rate_interval])`)).toEqual([]);
    expect(check(`max(doppel_g${sel})`)).toEqual([]);
    expect(check(`up${sel}`)).toEqual([]);
    expect(check(`nodejs_eventloop_lag_p99_seconds${sel}`)).toEqual([]);
  });

  it('sees names with digits whole, so a misspelt runtime metric is refused', () => {
    expect(check(`nodejs_eventloop_lag_p99_second${sel}`)).not.toEqual([]);
    expect(check(`process_open_fds2${sel}`)).not.toEqual([]);
  });

  it('holds metrics a runtime does not export to being absent, and nothing else', () => {
    const absent = new Set(['doppel_h_seconds', 'doppel_x']);
    const checkAbsent = (expr: string) => problemsOf(expr, exp, { templated: true, absent });
    expect(checkAbsent(`sum(rate(doppel_x_sum${sel}[$__rate_interval]))`)).toEqual([]);
    expect(checkAbsent(`sum(rate(doppel_h_seconds_count${sel}[$__rate_interval]))`)).not.toEqual([]);
    expect(checkAbsent('doppel_x')).not.toEqual([]); // still filtered by job and instance
  });

  it.each([
    ['an unknown metric', `sum(doppel_nope${sel})`],
    ['an unknown runtime metric', `sum(nodejs_nope${sel})`],
    ['a family without series', `sum(rate(doppel_e_total${sel}[$__rate_interval]))`],
    ['rate() over a gauge', `rate(doppel_g${sel}[$__rate_interval])`],
    ['a counter without rate()', `sum(doppel_c_total${sel})`],
    ['histogram_quantile() over _sum', `histogram_quantile(0.5, rate(doppel_h_seconds_sum${sel}[$__rate_interval]))`],
    ['histogram_quantile() over a gauge', `histogram_quantile(0.5, doppel_g${sel})`],
    ['buckets outside histogram_quantile()', `sum(rate(doppel_h_seconds_bucket${sel}[$__rate_interval]))`],
    ['a fixed range', `rate(doppel_c_total${sel}[5m])`],
    ['no job/instance filter', 'rate(doppel_c_total{job=~"$job"}[$__rate_interval])'],
  ])('refuses %s', (_what, expr) => {
    expect(check(expr)).not.toEqual([]);
  });

  it('is not fooled by parentheses inside strings', () => {
    expect(check(`sum(label_replace(doppel_g${sel}, "a", "$1", "b", "(x)("))`)).toEqual([]);
  });
});

describe('Grafana dashboard and README alerts against a real server', () => {
  let t: TestServer;
  let exp: Exposition;

  beforeAll(async () => {
    t = await startTestServer();
    // Traffic on every protocol, so histograms and labelled series have samples.
    const deviceToken = await createTwin(t, 'grafana-1', { temp: 21 });
    expect((await t.call('PATCH', '/v1/twins/grafana-1', { body: { desired: { temp: 22 } } })).status).toBe(200);
    expect((await t.call('GET', '/v1/twins/grafana-1')).status).toBe(200);
    const ws = await connect(t);
    const coap = await RawClient.open(t.server.coapPort);
    try {
      expect(await ws.request({ op: 'subscribe', twins: ['grafana-1'] })).toMatchObject({ op: 'subscribed' });
      expect((await ws.request({ op: 'get', twin: 'grafana-1' })).op).not.toBe('error');
      expect(await ws.request({ op: 'patch', twin: 'grafana-1', desired: { temp: 23 } })).not.toMatchObject({ op: 'error' });
      const res = await coap.request({ path: '/t/grafana-1', query: [`token=${deviceToken}`] });
      expect(res.code).toBe('2.05');
      if (IN_PROCESS) {
        // GC pauses have series once a collection ran: garbage made here is the server's process's too.
        await eventually(async () => {
          let junk: unknown[] = [];
          for (let i = 0; i < 200_000; i++) junk.push({ i });
          junk = [];
          const minor = await metric(t, 'nodejs_gc_duration_seconds_count{kind="minor"}');
          return minor !== undefined && minor > 0 && junk.length === 0 ? minor : undefined;
        }, 'a minor GC');
      }
      const metrics = await t.call('GET', '/metrics');
      expect(metrics.status).toBe(200);
      exp = parseExposition(await metrics.text());
    } finally {
      ws.close();
      await ws.closed;
      await coap.close();
    }
  });
  afterAll(async () => { await t?.stop(); });

  it('every metric a panel names exists, with series, and is used as its type allows', () => {
    const absent = TEST_RUNTIME === 'deno' ? NODE_ONLY : new Set<string>();
    const problems = exprsOf(dashboard).flatMap(({ panel, expr }) => problemsOf(expr, exp, { templated: true, absent }).map((p) => `${panel}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('the template variables ask for a metric the server exposes', () => {
    const names = (dashboard.templating?.list ?? []).flatMap((v) => [...JSON.stringify(v.query ?? '').matchAll(/(?:doppel|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !exp.samples.has(n))).toEqual([]);
  });

  it('the README gives 4 to 6 alert rules, each with a for, a severity, a summary, and metrics used as their type allows', () => {
    const rules = readmeRules();
    expect(rules.length).toBeGreaterThanOrEqual(4);
    expect(rules.length).toBeLessThanOrEqual(6);
    for (const r of rules) {
      expect(r, r.alert).toMatchObject({ alert: expect.stringMatching(/^Doppel[A-Za-z]+$/), for: expect.stringMatching(/^\d+[smh]$/), labels: { severity: expect.stringMatching(/^(critical|warning)$/) } });
      expect(r.annotations.summary, r.alert).toEqual(expect.any(String));
      expect(problemsOf(r.expr, exp, { templated: false }), r.alert).toEqual([]);
      expect(r.expr, `${r.alert} compares with a threshold`).toMatch(/(==|!=|>=|<=|>|<)\s*[\d.]+\s*$/);
    }
  });
});
