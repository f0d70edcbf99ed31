/** One twin: desired, reported and delta side by side, tags, the editor, history and its device token. */
import { useEffect, useState } from 'preact/hooks';
import { api, twinPath } from './api.ts';
import type { Twin } from './api.ts';
import { Commands } from './commands.tsx';
import { DesiredEditor } from './editor.tsx';
import { History, LeafChart } from './history.tsx';
import { useLoad, useNow } from './hooks.ts';
import type { LiveFleet } from './live.ts';
import { Tree } from './tree.tsx';
import { Ago, ErrorBox, Secret } from './widgets.tsx';

export function TwinView({ id, live }: { id: string; live: LiveFleet }) {
  const now = useNow();
  const { data: twin, error, reload, setData } = useLoad(async () => (await api<Twin>('GET', twinPath(id))).body, [id]);
  useEffect(() => live.follow(id), [id, live]);
  useEffect(() => { if (twin !== undefined || error !== undefined) live.start(); }, [twin, error, live]);
  // A change event carries a patch, not the metadata: fetch the twin again (at most once per batch).
  useEffect(() => live.onEvent((e) => { if (e.twin === id && (twin === undefined || e.version > twin.version)) reload(); }), [id, live, twin?.version]);

  if (error) return <section><p><a href="#/">← Fleet</a></p><ErrorBox error={error} /></section>;
  if (!twin) return <p class="muted" role="status">Loading {id}…</p>;
  return (
    <section aria-labelledby="twin-h" class="twin">
      <p><a href="#/">← Fleet</a></p>
      <h1 id="twin-h">{twin.id}</h1>
      <dl class="facts">
        <div><dt>Version</dt><dd data-testid="version">{twin.version}</dd></div>
        <div><dt>Sync</dt><dd>{twin.sync.inSync ? <span class="ok">in sync</span> : <span class="warn">pending since <Ago iso={twin.sync.pendingSince} now={now} /></span>}</dd></div>
        <div><dt>Device</dt><dd>{twin.connection.online ? <span class="ok">online{twin.connection.via ? ` via ${twin.connection.via}` : ''}</span> : <span class="muted">offline</span>}{' '}
          {twin.connection.lastSeenAt && <>· seen <Ago iso={twin.connection.lastSeenAt} now={now} /></>}</dd></div>
        <div><dt>Updated</dt><dd><Ago iso={twin.updatedAt} now={now} /></dd></div>
      </dl>
      <Tags tags={twin.tags} />
      <div class="docs">
        <section><h2>Desired</h2><Tree doc={twin.desired} meta={twin.metadata.desired} delta={twin.delta} now={now} /></section>
        <section><h2>Reported</h2><Tree doc={twin.reported} meta={twin.metadata.reported} delta={twin.delta} now={now} /></section>
        <section><h2>Delta</h2><Tree doc={twin.delta} now={now} /></section>
      </div>
      <DesiredEditor key={twin.id} twin={twin} onSaved={setData} />
      <Commands id={twin.id} live={live} now={now} />
      <LeafChart twin={twin} />
      <History twin={twin} />
      <DeviceToken id={twin.id} />
    </section>
  );
}

function Tags({ tags }: { tags: Twin['tags'] }) {
  const entries = Object.entries(tags);
  if (entries.length === 0) return null;
  return (
    <ul class="tags" aria-label="Tags">
      {entries.map(([k, v]) => <li key={k}><span class="key">{k}</span> {typeof v === 'string' ? v : JSON.stringify(v)}</li>)}
    </ul>
  );
}

function DeviceToken({ id }: { id: string }) {
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [confirming, setConfirming] = useState(false);
  const issue = async () => {
    setError(null); setConfirming(false);
    try { setToken((await api<{ token: string }>('POST', `${twinPath(id)}/token`)).body.token); } catch (e) { setError(e as Error); }
  };
  return (
    <section aria-labelledby="token-h">
      <h2 id="token-h">Device token</h2>
      <p class="muted">Issuing a token replaces the device's current one at once (the old one stops working).</p>
      {confirming
        ? <div class="actions"><button type="button" class="danger" onClick={issue}>Yes, issue a new device token</button><button type="button" onClick={() => setConfirming(false)}>Cancel</button></div>
        : <button type="button" onClick={() => setConfirming(true)}>Issue device token…</button>}
      {token && <Secret label="Device token" value={token} />}
      <ErrorBox error={error} />
    </section>
  );
}
