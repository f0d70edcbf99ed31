/**
 * Which methods a path answers, read from the app's own route table (hono's `app.routes`), so a
 * wrong method on a known path is `405 method_not_allowed` with an `Allow` header (RFC 9110
 * §15.5.6: "MUST generate an Allow header field") rather than a misleading 404.
 */
import { TrieRouter } from 'hono/router/trie-router';

export interface RouteEntry { method: string; path: string }

/** Methods per request path; an empty list means the path is unknown (a plain 404). */
export type AllowedMethods = (path: string) => string[];

/**
 * Builds the lookup once, after every route is registered. Middleware (`ALL`) is no route of its
 * own. HEAD is listed wherever GET is, as hono answers HEAD from the GET handler (RFC 9110 §9.3.2).
 */
export function allowedMethods(routes: readonly RouteEntry[]): AllowedMethods {
  const router = new TrieRouter<string>();
  const methods = new Set<string>();
  for (const { method, path } of routes) {
    if (method === 'ALL') continue;
    router.add(method, path, path);
    methods.add(method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const candidates = [...methods].sort((a, b) => rank(order, a) - rank(order, b));
  return (path) => candidates.filter((m) => router.match(m === 'HEAD' ? 'GET' : m, path)[0].length > 0);
}

const rank = (order: readonly string[], method: string) => (order.includes(method) ? order.indexOf(method) : order.length);
