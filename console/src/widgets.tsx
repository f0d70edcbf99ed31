/** Small shared pieces: error boxes, copy-once secrets, relative times. */
import { useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { age } from './json.ts';

export function ErrorBox({ error }: { error: Error | undefined | null }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'error';
  return <p class="error" role="alert"><strong>{code}</strong>: {error.message}</p>;
}

export function Ago({ iso, now }: { iso: string | null | undefined; now: number }) {
  if (!iso) return <span class="muted">—</span>;
  return <time dateTime={iso} title={iso}>{age(iso, now)} ago</time>;
}

/** A secret shown once: read-only, selected on focus, with a Copy button. */
export function Secret({ label, value }: { label: string; value: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    input.current?.select();
    try { await navigator.clipboard.writeText(value); } catch { document.execCommand('copy'); }
    setCopied(true);
  };
  return (
    <div class="secret">
      <label><span>{label} <span class="muted">(shown once: copy it now)</span></span>
        <input ref={input} readOnly value={value} onFocus={(e) => e.currentTarget.select()} spellcheck={false} />
      </label>
      <button type="button" onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  );
}
