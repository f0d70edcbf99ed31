/** The signed-in token: sessionStorage only (gone with the tab), never localStorage or a URL. */
const KEY = 'doppel.console.token';

export function loadToken(): string | null {
  try { return sessionStorage.getItem(KEY); } catch { return null; }
}

export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch { /* storage disabled: the token lives in memory only */ }
}
