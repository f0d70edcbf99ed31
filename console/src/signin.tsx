import { useState } from 'preact/hooks';
import { api, ApiError, setApiToken } from './api.ts';
import { ErrorBox } from './widgets.tsx';

/** Checks the token against the API before accepting it, so a wrong one is said at once. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setApiToken(token.trim());
    try {
      await api('GET', '/v1/twins?limit=1');
      onSignedIn(token.trim());
    } catch (err) {
      // A token without twins:read (a keys:admin key) is still a valid credential.
      if (err instanceof ApiError && err.status === 403) onSignedIn(token.trim());
      else { setApiToken(null); setError(err as Error); }
    } finally { setBusy(false); }
  };
  return (
    <main class="signin">
      <h1>Doppel console</h1>
      {notice && <p class="notice" role="status">{notice}</p>}
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" spellcheck={false} required value={token}
          onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="token-help" autoFocus />
        <p id="token-help" class="muted">The admin token (printed when the server first started, and kept in its data directory as admin-token) or an API key. Kept in this tab only.</p>
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
