/** API keys (create once-shown, list, revoke), server health from /readyz and /metrics, and the cluster's nodes. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import type { ApiKey } from './api.ts';
import { useLoad } from './hooks.ts';
import { sumByName } from './prometheus.ts';
import { ErrorBox, Secret } from './widgets.tsx';

const SCOPES = ['twins:read', 'twins:write', 'keys:admin'] as const;

export function Admin() {
  return (
    <section aria-labelledby="admin-h">
      <h1 id="admin-h">Admin</h1>
      <Health />
      <Cluster />
      <Keys />
    </section>
  );
}

function Keys() {
  const { data, error, reload } = useLoad(async () => (await api<{ items: ApiKey[] }>('GET', '/v1/keys')).body.items, []);
  const [name, setName] = useState('');
  const [prefix, setPrefix] = useState('');
  const [scopes, setScopes] = useState<string[]>(['twins:read']);
  const [created, setCreated] = useState<{ id: string; token: string } | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setActionError(null);
    try {
      const body = { scopes, ...(name ? { name } : {}), ...(prefix ? { prefix } : {}) };
      const r = await api<ApiKey & { token: string }>('POST', '/v1/keys', { body });
      setCreated({ id: r.body.id, token: r.body.token });
      setName(''); setPrefix('');
      reload();
    } catch (err) { setActionError(err as Error); }
  };
  const [confirming, setConfirming] = useState<string | null>(null);
  const revoke = async (key: ApiKey) => {
    setConfirming(null);
    try { await api('DELETE', `/v1/keys/${encodeURIComponent(key.id)}`); reload(); } catch (err) { setActionError(err as Error); }
  };
  const toggle = (s: string, on: boolean) => setScopes(on ? [...scopes, s] : scopes.filter((x) => x !== s));
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <form class="key-form" onSubmit={create}>
        <label>Name <input value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Prefix <input value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} placeholder="(all twins)" spellcheck={false} /></label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => <label key={s} class="check"><input type="checkbox" checked={scopes.includes(s)} onChange={(e) => toggle(s, e.currentTarget.checked)} /> {s}</label>)}
        </fieldset>
        <button type="submit" disabled={scopes.length === 0}>Create key</button>
      </form>
      {created && <Secret label="API key token" value={created.token} />}
      <ErrorBox error={actionError} />
      <ErrorBox error={error} />
      {data && (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Scopes</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name ?? <span class="muted">—</span>}</td><td class="mono">{k.id}</td><td>{k.scopes.join(', ')}</td>
                  <td class="mono">{k.prefix ?? <span class="muted">all</span>}</td><td><time dateTime={k.createdAt}>{new Date(k.createdAt).toLocaleString()}</time></td>
                  <td>{confirming === k.id
                    ? <><button type="button" class="danger" onClick={() => revoke(k)}>Revoke now: apps using it stop at once</button> <button type="button" onClick={() => setConfirming(null)}>Cancel</button></>
                    : <button type="button" class="danger" onClick={() => setConfirming(k.id)} aria-label={`Revoke ${k.name ?? k.id}`}>Revoke…</button>}</td>
                </tr>
              ))}
              {data.length === 0 && <tr><td colSpan={6} class="muted">No keys yet.</td></tr>}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Sample { at: number; sums: Map<string, number>; ready: string }
const RATES: [string, string][] = [['HTTP requests/s', 'doppel_http_requests_total'], ['CoAP requests/s', 'doppel_coap_requests_total'], ['WebSocket messages/s', 'doppel_ws_messages_total']];

function Health() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const last = useRef<Sample | null>(null);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const ready = await fetch('/readyz', { cache: 'no-store' }).then((r) => (r.ok ? 'ready' : `not ready (${r.status})`), () => 'unreachable');
        const text = (await api<string>('GET', '/metrics', { text: true })).body;
        const s = { at: Date.now(), sums: sumByName(text), ready };
        if (live) { setSamples([last.current ?? s, s]); last.current = s; setError(null); }
      } catch (e) { if (live) setError(e as Error); }
    };
    void poll();
    const id = setInterval(poll, 5000);
    return () => { live = false; clearInterval(id); };
  }, []);
  const [prev, cur] = samples;
  const rate = (name: string) => {
    if (!prev || !cur || cur.at === prev.at) return '…';
    return (((cur.sums.get(name) ?? 0) - (prev.sums.get(name) ?? 0)) / ((cur.at - prev.at) / 1000)).toFixed(1);
  };
  const gauge = (name: string) => cur?.sums.get(name)?.toLocaleString() ?? '…';
  return (
    <section aria-labelledby="health-h">
      <h2 id="health-h">Server health</h2>
      <ErrorBox error={error} />
      <dl class="facts">
        <div><dt>Readiness</dt><dd class={cur?.ready === 'ready' ? 'ok' : 'warn'}>{cur?.ready ?? '…'}</dd></div>
        <div><dt>Resident twins</dt><dd>{gauge('doppel_actors_resident')}</dd></div>
        <div><dt>Out of sync</dt><dd>{gauge('doppel_twins_out_of_sync')}</dd></div>
        {RATES.map(([label, name]) => <div key={name}><dt>{label}</dt><dd>{rate(name)}</dd></div>)}
        <div><dt>Memory (RSS)</dt><dd>{cur ? `${((cur.sums.get('process_resident_memory_bytes') ?? 0) / 2 ** 20).toFixed(0)} MiB` : '…'}</dd></div>
      </dl>
    </section>
  );
}

interface ClusterState { nodes: { id: string; url?: string; alive: boolean; twinsOwned: number }[]; replicas: number }

/** `GET /v1/cluster` exists only in cluster mode: its 404 means a single node. */
function Cluster() {
  const { data, error, reload } = useLoad(async () => {
    try { return (await api<ClusterState>('GET', '/v1/cluster')).body; } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      if (e instanceof ApiError && e.status === 403) throw new ApiError(403, e.code, 'Only the admin token may see the cluster\'s nodes.');
      throw e;
    }
  }, []);
  // Nodes come and go: refreshed like the health figures.
  useEffect(() => {
    const id = setInterval(reload, 5000);
    return () => clearInterval(id);
  }, []);
  return (
    <section aria-labelledby="cluster-h">
      <h2 id="cluster-h">Cluster</h2>
      <ErrorBox error={error} />
      {data === null && <p class="muted" data-testid="cluster-mode">Single node: this server is not part of a cluster.</p>}
      {data && (
        <>
          <p data-testid="cluster-mode">{data.nodes.filter((n) => n.alive).length} of {data.nodes.length} nodes alive; every record is kept in {data.replicas} replica{data.replicas === 1 ? '' : 's'}.</p>
          <div class="table-wrap">
            <table aria-label="Cluster nodes">
              <thead><tr><th scope="col">Node</th><th scope="col">URL</th><th scope="col">State</th><th scope="col" class="num">Twins owned</th></tr></thead>
              <tbody>
                {data.nodes.map((n) => (
                  <tr key={n.id} data-node={n.id}>
                    <td class="mono">{n.id}</td><td class="mono">{n.url ?? <span class="muted">—</span>}</td>
                    <td>{n.alive ? <span class="ok">alive</span> : <span class="warn">not answering</span>}</td>
                    <td class="num">{n.twinsOwned.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
