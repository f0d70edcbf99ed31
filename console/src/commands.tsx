/** A twin's commands: send one (direct or queued) and see its answer; the recent ones, live, with Cancel. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, twinPath } from './api.ts';
import type { Command } from './api.ts';
import { commandBody, isOpen, mergeCommand, refusalWords, STATUS_WORDS, TIMEOUT_S, TTL_CHOICES } from './command-form.ts';
import type { CommandDraft } from './command-form.ts';
import type { LiveFleet } from './live.ts';
import { Ago, ErrorBox } from './widgets.tsx';

type Outcome = { kind: 'answered' | 'queued'; command: Command } | { kind: 'refused'; code: string; words: string };

export function Commands({ id, live, now }: { id: string; live: LiveFleet; now: number }) {
  const [list, setList] = useState<Command[]>([]);
  const [listError, setListError] = useState<Error | null>(null);
  useEffect(() => {
    let current = true;
    setList([]);
    const load = () => api<{ items: Command[] }>('GET', `${twinPath(id)}/commands`).then(
      (r) => { if (current) { setList((l) => r.body.items.reduce((acc, c) => mergeCommand(acc, c), l)); setListError(null); } },
      (e: Error) => { if (current) setListError(e); },
    );
    void load();
    const off = live.onCommand((twin, c) => { if (twin === id) setList((l) => mergeCommand(l, c)); });
    // Changes made while the WebSocket was down are not replayed: list again once it is back.
    let state = live.status.state;
    const offStatus = live.subscribe(() => {
      if (live.status.state === 'live' && state !== 'live' && state !== 'connecting') void load();
      state = live.status.state;
    });
    return () => { current = false; off(); offStatus(); };
  }, [id, live]);
  const seen = (c: Command) => setList((l) => mergeCommand(l, c));
  return (
    <section aria-labelledby="commands-h" class="commands">
      <h2 id="commands-h">Commands</h2>
      <SendForm id={id} onCommand={seen} />
      <ErrorBox error={listError} />
      <RecentCommands id={id} list={list} now={now} onCommand={seen} />
    </section>
  );
}

function SendForm({ id, onCommand }: { id: string; onCommand: (c: Command) => void }) {
  const [draft, setDraft] = useState<CommandDraft>({ name: '', payload: '', mode: 'direct', timeoutS: String(TIMEOUT_S.default), ttlSeconds: 3600 });
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [touched, setTouched] = useState(false);
  const set = (part: Partial<CommandDraft>) => setDraft({ ...draft, ...part });
  const check = commandBody(draft);
  const bad = (field: string) => touched && 'field' in check && check.field === field;
  // A payload that is not JSON is said at once; a bad name or timeout once Send was pressed.
  const problem = 'field' in check && (touched || check.field === 'payload') ? check.problem : null;
  const send = async (e: Event) => {
    e.preventDefault();
    setTouched(true);
    if (!('body' in check)) return;
    setBusy(true); setOutcome(null); setError(null);
    try {
      const r = await api<Command>('POST', `${twinPath(id)}/commands`, { body: check.body });
      onCommand(r.body);
      setOutcome({ kind: r.status === 202 ? 'queued' : 'answered', command: r.body });
    } catch (err) {
      const words = err instanceof ApiError ? refusalWords(err.code, draft.timeoutS) : null;
      if (words !== null) setOutcome({ kind: 'refused', code: (err as ApiError).code, words });
      else setError(err as Error);
    } finally { setBusy(false); }
  };
  return (
    <form class="command-form" onSubmit={send} noValidate>
      <label>Command name <input value={draft.name} onInput={(e) => set({ name: e.currentTarget.value })} placeholder="reboot" spellcheck={false} aria-invalid={bad('name')} /></label>
      <label class="grow"><span>Payload <span class="muted">(JSON, optional)</span></span>
        <textarea class="mono" rows={2} value={draft.payload} onInput={(e) => set({ payload: e.currentTarget.value })} placeholder='{"delay": 5}' spellcheck={false} aria-invalid={'field' in check && check.field === 'payload'} aria-describedby="command-check" />
      </label>
      <fieldset>
        <legend>Delivery</legend>
        <label class="check"><input type="radio" name="mode" checked={draft.mode === 'direct'} onChange={() => set({ mode: 'direct' })} /> Wait for the device</label>
        <label class="check"><input type="radio" name="mode" checked={draft.mode === 'queued'} onChange={() => set({ mode: 'queued' })} /> Queue until it connects</label>
        {draft.mode === 'direct'
          ? <label>Wait up to (seconds) <input type="number" min={TIMEOUT_S.min} max={TIMEOUT_S.max} value={draft.timeoutS} onInput={(e) => set({ timeoutS: e.currentTarget.value })} aria-invalid={bad('timeout')} /></label>
          : <label>Keep queued for <select value={draft.ttlSeconds} onChange={(e) => set({ ttlSeconds: Number(e.currentTarget.value) })}>
              {TTL_CHOICES.map(([label, s]) => <option key={s} value={s}>{label}</option>)}
            </select></label>}
      </fieldset>
      <button type="submit" class="primary" disabled={busy}>{busy && draft.mode === 'direct' ? 'Waiting for the device…' : 'Send command'}</button>
      <p id="command-check" class="error" role={problem === null ? undefined : 'alert'}>{problem}</p>
      <OutcomeView outcome={outcome} />
      <ErrorBox error={error} />
    </form>
  );
}

function OutcomeView({ outcome }: { outcome: Outcome | null }) {
  if (outcome === null) return null;
  if (outcome.kind === 'refused') return <p class="outcome warn" role="status"><strong>{outcome.code}</strong>: {outcome.words}</p>;
  const c = outcome.command;
  if (outcome.kind === 'queued') {
    return <p class="outcome" role="status">Queued <code>{c.name}</code>: it is delivered when the device next makes contact{c.expiresAt ? `, until ${new Date(c.expiresAt).toLocaleString()}` : ''}. Its status below follows live.</p>;
  }
  return (
    <div class="outcome" role="status">
      <p>The device answered <code>{c.name}</code>: <span class={c.status === 'succeeded' ? 'ok' : 'warn'}>{c.status}</span></p>
      {c.result !== undefined && <pre class="mono" aria-label="Result">{JSON.stringify(c.result, null, 2)}</pre>}
    </div>
  );
}

function RecentCommands({ id, list, now, onCommand }: { id: string; list: Command[]; now: number; onCommand: (c: Command) => void }) {
  const [error, setError] = useState<Error | null>(null);
  const cancel = async (c: Command) => {
    setError(null);
    try { onCommand((await api<Command>('DELETE', `${twinPath(id)}/commands/${encodeURIComponent(c.id)}`)).body); } catch (err) { setError(err as Error); }
  };
  return (
    <>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table aria-label="Recent commands">
          <thead><tr><th scope="col">Sent</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Result</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-command={c.id}>
                <td><Ago iso={c.createdAt} now={now} /></td>
                <td class="mono">{c.name}</td>
                <td class="status" title={STATUS_WORDS[c.status]}><span class={c.status === 'succeeded' ? 'ok' : isOpen(c.status) ? '' : 'warn'}>{c.status}</span></td>
                <td class="mono result">{c.result === undefined ? <span class="muted">—</span> : JSON.stringify(c.result)}</td>
                <td>{isOpen(c.status) && <button type="button" onClick={() => cancel(c)} aria-label={`Cancel ${c.name} ${c.id}`}>Cancel</button>}</td>
              </tr>
            ))}
            {list.length === 0 && <tr><td colSpan={5} class="muted">No commands yet.</td></tr>}
          </tbody>
        </table>
      </div>
    </>
  );
}
