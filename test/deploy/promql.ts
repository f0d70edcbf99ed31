/**
 * The checker behind test/deploy/grafana.test.ts: reads a Prometheus text exposition (each
 * family's `# TYPE` and which samples have series) and, loosely, a PromQL expression (the metric
 * names it mentions and the function calls around them), and says what is wrong when a query
 * names a metric the server does not expose or uses it against its type.
 */

/** Series Prometheus makes itself, not the server. */
const SYNTHETIC = new Set(['up']);

// --- /metrics -------------------------------------------------------------------------------

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export interface Exposition {
  /** Family name → `# TYPE`. */
  types: Map<string, MetricType>;
  /** Every sample name with at least one series (`doppel_x_bucket`, `doppel_y`, …). */
  samples: Set<string>;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, MetricType>();
  const samples = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) types.set(type[1]!, type[2] as MetricType);
    else if (line !== '' && !line.startsWith('#')) samples.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return { types, samples };
}

// --- PromQL, read loosely --------------------------------------------------------------------

/** `expr` with the contents of string literals blanked (same length), so parens and braces in them do not count. */
export function maskStrings(expr: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (quote === null) {
      out += ch;
      if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    } else if (ch === '\\' && quote !== '`') {
      out += '  ';
      i++;
    } else if (ch === quote) {
      out += ch;
      quote = null;
    } else out += ' ';
  }
  if (quote !== null) throw new Error(`unterminated string in ${expr}`);
  return out;
}

interface Call { fn: string; open: number; close: number }

/** Every parenthesised group with the identifier before it ('' for a bare group). */
function calls(masked: string): Call[] {
  const out: Call[] = [];
  const stack: Array<{ fn: string; open: number }> = [];
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] === '(') {
      const fn = /([a-zA-Z_][a-zA-Z0-9_]*)\s*$/.exec(masked.slice(0, i))?.[1] ?? '';
      stack.push({ fn, open: i });
    } else if (masked[i] === ')') {
      const top = stack.pop();
      if (top === undefined) throw new Error(`unbalanced ")" at ${i} in ${masked}`);
      out.push({ ...top, close: i });
    }
  }
  if (stack.length > 0) throw new Error(`unbalanced "(" in ${masked}`);
  return out;
}

interface Ref { name: string; at: number; end: number }

/** Metric names: doppel_…, process_… and nodejs_… identifiers, plus Prometheus' own. */
const METRIC_NAME = /\b(?:(?:doppel|process|nodejs)_[a-z0-9_]+|up)\b/g;

export function metricRefs(masked: string): Ref[] {
  const refs: Ref[] = [];
  for (const m of masked.matchAll(METRIC_NAME)) {
    // `up` only as a series (followed by a selector), not as part of a word or a label value.
    if (m[0] === 'up' && masked[m.index + 2] !== '{') continue;
    refs.push({ name: m[0], at: m.index, end: m.index + m[0].length });
  }
  return refs;
}

type Part = '' | '_bucket' | '_sum' | '_count';
interface Resolved { family: string; type: MetricType; part: Part }

function resolve(name: string, exp: Exposition): Resolved | undefined {
  const type = exp.types.get(name);
  if (type !== undefined) return { family: name, type, part: '' };
  const m = /^(.+)(_bucket|_sum|_count)$/.exec(name);
  if (m !== null && exp.types.get(m[1]!) === 'histogram') return { family: m[1]!, type: 'histogram', part: m[2] as Part };
  return undefined;
}

const RANGE_FNS = new Set(['rate', 'irate', 'increase']);
const isRateable = (r: Resolved) => r.type === 'counter' || (r.type === 'histogram' && r.part !== '');

export interface CheckOptions {
  /** Every series must carry `job=~"$job", instance=~"$instance"` (dashboard panels). */
  templated: boolean;
  /** Families this runtime does not export: named ones must be missing from the page, and are not checked further. */
  absent?: ReadonlySet<string>;
}

/** The family a sample name belongs to, when that family is in `families`. */
export const familyIn = (name: string, families: ReadonlySet<string>) =>
  [name, name.replace(/_(?:bucket|sum|count)$/, '')].find((f) => families.has(f));

/** What is wrong with one PromQL expression against the server's exposition; [] when nothing. */
export function problemsOf(expr: string, exp: Exposition, opts: CheckOptions): string[] {
  const problems: string[] = [];
  const masked = maskStrings(expr);
  const groups = calls(masked);
  const enclosing = (at: number) => groups.filter((g) => g.open < at && at < g.close);
  const refs = metricRefs(masked);
  if (refs.length === 0) problems.push('names no metric');

  for (const ref of refs) {
    const where = `${ref.name} in ${expr}`;
    const selector = masked[ref.end] === '{' ? expr.slice(ref.end + 1, masked.indexOf('}', ref.end)) : null;
    if (opts.templated && (selector === null || !selector.includes('job=~"$job"') || !selector.includes('instance=~"$instance"'))) {
      problems.push(`${where}: not filtered by job=~"$job" and instance=~"$instance"`);
    }
    if (SYNTHETIC.has(ref.name)) continue;
    const absent = familyIn(ref.name, opts.absent ?? new Set());
    if (absent !== undefined) {
      if (exp.types.has(absent)) problems.push(`${where}: listed as not exported on this runtime, yet in GET /metrics`);
      continue;
    }
    const resolved = resolve(ref.name, exp);
    if (resolved === undefined) { problems.push(`${where}: no such metric family in GET /metrics`); continue; }
    if (!exp.samples.has(ref.name)) problems.push(`${where}: no series in GET /metrics after traffic`);
    const fns = enclosing(ref.at).map((g) => g.fn);
    const inRange = fns.some((f) => RANGE_FNS.has(f));
    if (isRateable(resolved) && !inRange) problems.push(`${where}: a ${resolved.type}${resolved.part} used without rate()/increase()`);
    if (resolved.part === '_bucket' && !fns.includes('histogram_quantile')) problems.push(`${where}: buckets outside histogram_quantile()`);
  }

  for (const g of groups) {
    const inside = refs.filter((r) => g.open < r.at && r.at < g.close && !SYNTHETIC.has(r.name));
    if (g.fn === 'histogram_quantile') {
      if (!/^\s*0?\.\d+\s*,/.test(masked.slice(g.open + 1))) problems.push(`histogram_quantile without a quantile in (0, 1): ${expr}`);
      for (const r of inside) {
        const res = resolve(r.name, exp);
        if (res !== undefined && !(res.type === 'histogram' && res.part === '_bucket')) problems.push(`histogram_quantile over ${r.name} (${res.type}${res.part}), not a histogram's _bucket: ${expr}`);
      }
    }
    if (RANGE_FNS.has(g.fn)) {
      for (const r of inside) {
        const res = resolve(r.name, exp);
        if (res !== undefined && !isRateable(res)) problems.push(`${g.fn}() over ${r.name}, a ${res.type}: ${expr}`);
      }
      const range = /\[([^\]]*)\]\s*$/.exec(masked.slice(g.open + 1, g.close))?.[1];
      if (range === undefined) problems.push(`${g.fn}() without a range: ${expr}`);
      else if (opts.templated && range !== '$__rate_interval') problems.push(`${g.fn}() over [${range}], not [$__rate_interval]: ${expr}`);
    }
  }
  return problems;
}
