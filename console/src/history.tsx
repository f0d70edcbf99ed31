/** A twin's history as a timeline (newest first, paged by version) and a chart of one numeric leaf. */
import { useState } from 'preact/hooks';
import { api, twinPath } from './api.ts';
import type { ChangeEvent, Json, Twin } from './api.ts';
import { useLoad } from './hooks.ts';
import { at, numericLeaves } from './json.ts';
import { ErrorBox } from './widgets.tsx';

const PAGE = 20;
const CHART_EVENTS = 500;

async function events(id: string, since: number, limit: number): Promise<ChangeEvent[]> {
  const r = await api<{ items: ChangeEvent[] }>('GET', `${twinPath(id)}/history?since=${since}&limit=${limit}`);
  return r.body.items;
}

export function History({ twin }: { twin: Twin }) {
  // `upTo` null follows the newest events; a number pins an older page.
  const [upTo, setUpTo] = useState<number | null>(null);
  const top = upTo ?? twin.version;
  const since = Math.max(0, top - PAGE);
  const { data, error } = useLoad(() => events(twin.id, since, PAGE), [twin.id, since, twin.version]);
  const items = (data ?? []).filter((e) => e.version <= top).reverse();
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <ErrorBox error={error} />
      <ol class="timeline">
        {items.map((e) => (
          <li key={e.version}>
            <div class="event-head">
              <strong>v{e.version}</strong> <span class="badge">{e.via}</span> <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
              {Object.keys(e.delta).length === 0 ? <span class="ok">in sync</span> : <span class="warn">pending</span>}
            </div>
            <code class="patch">{JSON.stringify(e.patch)}</code>
          </li>
        ))}
        {data && items.length === 0 && <li class="muted">No events kept for these versions.</li>}
      </ol>
      <nav class="pager" aria-label="History pages">
        <button type="button" disabled={since === 0} onClick={() => setUpTo(since)}>Older</button>
        <button type="button" disabled={upTo === null} onClick={() => setUpTo(top + PAGE >= twin.version ? null : top + PAGE)}>Newer</button>
      </nav>
    </section>
  );
}

export function LeafChart({ twin }: { twin: Twin }) {
  const leaves = numericLeaves(twin.reported).map((p) => p.join('.'));
  const [choice, setChoice] = useState<string>('');
  const leaf = leaves.includes(choice) ? choice : leaves[0] ?? '';
  const since = Math.max(0, twin.version - CHART_EVENTS);
  const { data, error } = useLoad(() => events(twin.id, since, CHART_EVENTS), [twin.id, twin.version]);
  if (leaves.length === 0) return null;
  const path = leaf.split('.');
  const points = (data ?? []).flatMap((e) => {
    const v: Json | undefined = at(e.patch.reported, path);
    return typeof v === 'number' ? [{ t: Date.parse(e.at), v }] : [];
  });
  return (
    <section aria-labelledby="chart-h">
      <h2 id="chart-h">Reported over time</h2>
      <label>Chart leaf{' '}
        <select value={leaf} onChange={(e) => setChoice(e.currentTarget.value)}>
          {leaves.map((l) => <option key={l} value={l}>reported.{l}</option>)}
        </select>
      </label>
      <ErrorBox error={error} />
      <Chart points={points} label={`reported.${leaf}`} />
    </section>
  );
}

function Chart({ points, label }: { points: { t: number; v: number }[]; label: string }) {
  if (points.length === 0) return <p class="muted">No reports of {label} in the history kept.</p>;
  // Evenly spaced by report, not by time: devices report in bursts, and a time axis would crush them.
  const W = 600, H = 160, L = 44, P = 10;
  const vs = points.map((p) => p.v);
  const lo = Math.min(...vs), hi = Math.max(...vs);
  const x = (i: number) => L + (points.length === 1 ? (W - L - P) / 2 : (i / (points.length - 1)) * (W - L - P));
  const y = (v: number) => H - P - (hi === lo ? (H - 2 * P) / 2 : ((v - lo) / (hi - lo)) * (H - 2 * P));
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: ${points.length} values from ${lo} to ${hi}`}>
        <line x1={L} y1={y(hi)} x2={W - P} y2={y(hi)} class="axis" />
        <line x1={L} y1={y(lo)} x2={W - P} y2={y(lo)} class="axis" />
        <text x={L - 6} y={y(hi) + 4} class="tick">{hi}</text>
        {hi !== lo && <text x={L - 6} y={y(lo) + 4} class="tick">{lo}</text>}
        <polyline points={line} class="series" />
        {points.map((p, i) => <circle key={i} cx={x(i)} cy={y(p.v)} r="3" class="dot"><title>{`${new Date(p.t).toLocaleString()}: ${p.v}`}</title></circle>)}
      </svg>
      <figcaption class="muted">{label}: last {points.at(-1)!.v}, min {lo}, max {hi} over the last {points.length} reports (hover a point for its time)</figcaption>
    </figure>
  );
}
