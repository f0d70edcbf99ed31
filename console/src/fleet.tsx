/**
 * The fleet: one page of twins in id order (listed over HTTP, so the server's filter language
 * applies), each row kept current by the live feed; counts over every twin followed.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import type { Twin } from './api.ts';
import { useLive, useNow } from './hooks.ts';
import type { LiveFleet, Summary } from './live.ts';
import { Ago, ErrorBox } from './widgets.tsx';

const PAGE = 50;
interface Query { prefix: string; filter: string }

export function Fleet({ live }: { live: LiveFleet }) {
  useLive(live);
  const now = useNow();
  const [draft, setDraft] = useState<Query>({ prefix: '', filter: '' });
  const [query, setQuery] = useState<Query>(draft);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: Summary[]; next: string | null } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const filterInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let current = true;
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (query.prefix) params.set('prefix', query.prefix);
    if (query.filter) params.set('filter', query.filter);
    const cursor = cursors.at(-1);
    if (cursor) params.set('cursor', cursor);
    api<{ items: Twin[]; next: string | null }>('GET', `/v1/twins?${params}`).then((r) => {
      if (!current) return;
      setPage({ items: r.body.items.map(toSummary), next: r.body.next });
      setError(null);
      requestAnimationFrame(() => live.start());
    }, (e: Error) => { if (current) { setError(e); live.start(); } });
    return () => { current = false; };
  }, [query, cursors, tick]);

  // Connection state changes without a new version (liveness runs out): refresh the page now and then.
  useEffect(() => {
    const id = setInterval(() => setTick((n) => n + 1), 30_000);
    return () => clearInterval(id);
  }, []);

  const filterPosition = error instanceof ApiError && error.code === 'invalid_request' && typeof error.details.position === 'number'
    ? error.details.position : null;
  useEffect(() => {
    const el = filterInput.current;
    if (filterPosition !== null && el) { el.focus(); el.setSelectionRange(filterPosition - 1, filterPosition); }
  }, [filterPosition, error]);

  const rows = useMemo(() => mergeRows(page, live, query), [page, live.revision, query]);
  const counts = countFleet(live, query.prefix);
  const apply = (e: Event) => { e.preventDefault(); setCursors([undefined]); setQuery({ ...draft }); };

  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      <p class="counts">
        <span><strong>{counts.total}</strong> twins followed live</span>
        <span class={counts.outOfSync > 0 ? 'warn' : ''}><strong>{counts.outOfSync}</strong> out of sync</span>
        <span class={counts.offline > 0 ? 'warn' : ''}><strong>{counts.offline}</strong> offline</span>
      </p>
      <form class="query" onSubmit={apply}>
        <label>Prefix
          <input value={draft.prefix} onInput={(e) => setDraft({ ...draft, prefix: e.currentTarget.value })} spellcheck={false} placeholder="site-a:" />
        </label>
        <label class="grow">Filter
          <input ref={filterInput} value={draft.filter} spellcheck={false} placeholder='sync.inSync == false and tags.site == "berlin"'
            aria-invalid={filterPosition !== null} aria-describedby={filterPosition !== null ? 'filter-error' : undefined}
            onInput={(e) => setDraft({ ...draft, filter: e.currentTarget.value })} class="mono" />
        </label>
        <button type="submit">Apply</button>
      </form>
      {filterPosition !== null
        ? <FilterError filter={query.filter} position={filterPosition} message={error!.message} />
        : <ErrorBox error={error} />}
      {page && <TwinTable rows={rows} now={now} />}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>Next page</button>
      </nav>
    </section>
  );
}

function FilterError({ filter, position, message }: { filter: string; position: number; message: string }) {
  return (
    <div id="filter-error" class="error filter-error" role="alert">
      <p>{message}</p>
      <pre aria-hidden="true">{filter}{'\n'}{' '.repeat(Math.max(0, position - 1))}^</pre>
    </div>
  );
}

function TwinTable({ rows, now }: { rows: Summary[]; now: number }) {
  if (rows.length === 0) return <p class="muted">No twins match.</p>;
  return (
    <div class="table-wrap">
      <table class="twins">
        <thead><tr><th scope="col">Twin</th><th scope="col">Sync</th><th scope="col">Device</th><th scope="col" class="num wide">Version</th><th scope="col" class="wide">Updated</th></tr></thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.id} data-twin={t.id}>
              <td><a href={`#/twin/${encodeURIComponent(t.id)}`}>{t.id}</a></td>
              <td>{t.inSync ? <span class="ok">in sync</span> : <span class="warn">pending <Ago iso={t.pendingSince} now={now} /></span>}</td>
              <td>{t.online ? <span class="ok">online</span> : <span class="muted">offline</span>}</td>
              <td class="num wide">{t.version}</td>
              <td class="wide"><Ago iso={t.updatedAt} now={now} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function toSummary(t: Twin): Summary {
  return { id: t.id, version: t.version, inSync: t.sync.inSync, pendingSince: t.sync.pendingSince ?? null, online: t.connection.online, updatedAt: t.updatedAt };
}

/**
 * The listed page, each row replaced by the live summary when that is newer; without a filter,
 * twins created live inside the page's id range join it and deleted ones leave.
 */
function mergeRows(page: { items: Summary[]; next: string | null } | null, live: LiveFleet, q: Query): Summary[] {
  if (page === null) return [];
  const rows = new Map<string, Summary>();
  for (const item of page.items) {
    if (live.deleted.has(item.id)) continue;
    const l = live.twins.get(item.id);
    rows.set(item.id, l !== undefined && l.version >= item.version ? l : item);
  }
  if (q.filter === '' && page.items.length > 0) {
    const first = page.items[0]!.id;
    const last = page.next === null ? null : page.items.at(-1)!.id;
    for (const [id, s] of live.twins) {
      if (id.startsWith(q.prefix) && id >= first && (last === null || id <= last) && !rows.has(id)) rows.set(id, s);
    }
  }
  return [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function countFleet(live: LiveFleet, prefix: string): { total: number; outOfSync: number; offline: number } {
  let total = 0, outOfSync = 0, offline = 0;
  for (const s of live.twins.values()) {
    if (!s.id.startsWith(prefix)) continue;
    total++;
    if (!s.inSync) outOfSync++;
    if (!s.online) offline++;
  }
  return { total, outOfSync, offline };
}
