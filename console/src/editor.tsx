/**
 * The desired-state editor: full JSON, validated as typed, saved as a JSON Merge Patch with
 * If-Match on the version it was loaded from. A 412 keeps the edit and lets the person choose.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, twinPath } from './api.ts';
import type { JsonObject, Twin } from './api.ts';
import { findNull, isObject, mergeDiff } from './json.ts';
import { ErrorBox } from './widgets.tsx';

const pretty = (doc: JsonObject) => JSON.stringify(doc, null, 2);

function validate(text: string): { doc: JsonObject } | { problem: string } {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) { return { problem: `Not JSON: ${(e as Error).message}` }; }
  if (!isObject(doc)) return { problem: 'Desired must be a JSON object.' };
  const hole = findNull(doc);
  if (hole !== null) return { problem: `${hole} is null: a merge patch deletes keys with null; remove the key instead.` };
  return { doc };
}

export function DesiredEditor({ twin, onSaved }: { twin: Twin; onSaved: (t: Twin) => void }) {
  const [base, setBase] = useState({ version: twin.version, desired: twin.desired });
  const [text, setText] = useState(pretty(twin.desired));
  const [conflict, setConflict] = useState<Twin | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const dirty = text !== pretty(base.desired);

  // Live changes flow into the editor only while the person has not started editing.
  useEffect(() => {
    if (!dirty && conflict === null && twin.version !== base.version) {
      setBase({ version: twin.version, desired: twin.desired });
      setText(pretty(twin.desired));
    }
  }, [twin.version]);

  const check = validate(text);
  const save = async () => {
    if (!('doc' in check)) return;
    setBusy(true); setError(null); setSaved(null);
    try {
      const reply = await api<{ version: number }>('PATCH', twinPath(twin.id), {
        body: { desired: mergeDiff(base.desired, check.doc) }, ifMatch: base.version, contentType: 'application/merge-patch+json',
      });
      setConflict(null);
      setBase({ version: reply.body.version, desired: check.doc });
      setText(pretty(check.doc));
      setSaved(reply.body.version);
      const latest = await api<Twin>('GET', twinPath(twin.id));
      onSaved(latest.body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        const latest = await api<Twin>('GET', twinPath(twin.id)).then((r) => r.body, () => null);
        setConflict(latest);
        if (latest) onSaved(latest);
      } else setError(e as Error);
    } finally { setBusy(false); }
  };
  const keepMine = () => { if (conflict) { setBase({ version: conflict.version, desired: conflict.desired }); setConflict(null); } };
  const takeLatest = () => {
    if (conflict) { setBase({ version: conflict.version, desired: conflict.desired }); setText(pretty(conflict.desired)); setConflict(null); }
  };

  return (
    <section class="editor" aria-labelledby="editor-h">
      <h2 id="editor-h">Edit desired</h2>
      <label for="desired-editor">Desired</label>
      <textarea id="desired-editor" class="mono" rows={Math.min(18, Math.max(6, text.split('\n').length + 1))} spellcheck={false}
        value={text} onInput={(e) => { setText(e.currentTarget.value); setSaved(null); }}
        aria-invalid={!('doc' in check)} aria-describedby="desired-status" />
      <p id="desired-status" class={'doc' in check ? 'muted' : 'error'} role={'doc' in check ? undefined : 'alert'}>
        {'doc' in check ? `Editing version ${base.version}${dirty ? ' (changed)' : ''}. Saved only if the twin is still at that version.` : check.problem}
      </p>
      {conflict && (
        <div class="conflict" role="alert">
          <p><strong>Conflict:</strong> the twin changed to version {conflict.version} while you were editing version {base.version}, so
            nothing was saved. Your edit is kept above. The latest desired state is:</p>
          <pre class="mono">{pretty(conflict.desired)}</pre>
          <div class="actions">
            <button type="button" onClick={keepMine}>Keep my edit (save it over version {conflict.version} next)</button>
            <button type="button" onClick={takeLatest}>Discard my edit and load the latest</button>
          </div>
        </div>
      )}
      <div class="actions">
        <button type="button" class="primary" disabled={busy || !('doc' in check) || !dirty || conflict !== null} onClick={save}>Save desired</button>
        {dirty && <button type="button" onClick={() => setText(pretty(base.desired))}>Undo changes</button>}
        {saved !== null && <span class="ok" role="status">Saved: version {saved}</span>}
      </div>
      <ErrorBox error={error} />
    </section>
  );
}
