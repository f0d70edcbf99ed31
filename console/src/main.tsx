/** The console shell: sign-in, navigation by location hash (never carrying the token), live status. */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { setApiToken } from './api.ts';
import { Admin } from './admin.tsx';
import { Fleet } from './fleet.tsx';
import { useLive } from './hooks.ts';
import { LiveFleet } from './live.ts';
import { loadToken, saveToken } from './session.ts';
import { SignIn } from './signin.tsx';
import { TwinView } from './twin.tsx';

type Route = { view: 'fleet' } | { view: 'admin' } | { view: 'twin'; id: string };

function parseRoute(hash: string): Route {
  const twin = /^#\/twin\/(.+)$/.exec(hash);
  if (twin) return { view: 'twin', id: decodeURIComponent(twin[1]!) };
  return hash === '#/admin' ? { view: 'admin' } : { view: 'fleet' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => { setRoute(parseRoute(location.hash)); document.getElementById('main')?.focus(); };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);
  setApiToken(token);
  const signOut = (why: string | null) => { saveToken(null); setApiToken(null); setToken(null); setNotice(why); };
  if (token === null) return <SignIn notice={notice} onSignedIn={(t) => { saveToken(t); setToken(t); setNotice(null); }} />;
  return <Shell token={token} onSignOut={signOut} />;
}

function Shell({ token, onSignOut }: { token: string; onSignOut: (why: string | null) => void }) {
  const live = useMemo(() => new LiveFleet(token, () => onSignOut('The token was revoked. Sign in with another one.')), [token]);
  useEffect(() => {
    // The views start the feed once their first page is shown; this is the fallback for the others.
    const id = setTimeout(() => live.start(), 1000);
    return () => { clearTimeout(id); live.stop(); };
  }, [live]);
  useLive(live);
  const route = useRoute();
  const { state, detail } = live.status;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="#/">Doppel</a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.view === 'fleet' ? 'page' : undefined}>Fleet</a>
          <a href="#/admin" aria-current={route.view === 'admin' ? 'page' : undefined}>Admin</a>
        </nav>
        <span class={`live live-${state}`} role="status" title={detail}>
          {state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'reconnecting' ? 'Reconnecting…' : 'Offline'}
          {detail && <span class="live-detail">: {detail}</span>}
        </span>
        <button type="button" onClick={() => onSignOut('Signed out.')}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.view === 'fleet' && <Fleet live={live} />}
        {route.view === 'admin' && <Admin />}
        {route.view === 'twin' && <TwinView key={route.id} id={route.id} live={live} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
