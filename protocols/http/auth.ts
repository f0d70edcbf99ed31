/**
 * Bearer authentication for the HTTP edge: the token's place is defined in src/auth/bearer.ts.
 * Long-lived responses (event streams) follow their credential's revocation through `onRevoked`.
 */
import { bearerToken } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Credentials, Principal } from '../../src/auth/index.ts';

/**
 * The one route where `?access_token=` counts: a browser's EventSource cannot set headers. Exact,
 * so a twin whose id is "events" (`/v1/twins/events`) does not take query tokens, and neither
 * does /metrics: tokens in URLs leak into logs and referrers.
 */
const EVENT_STREAM = /^\/v1\/twins\/[^/]+\/events$/;

/** Which credentials authenticated a principal, so a route can follow its revocation. */
const issuers = new WeakMap<Principal, Credentials>();

/**
 * `allowQuery`: the caller's hint that this may be an event stream; the path decides. A token
 * seen before is answered at once, without a trip through the microtask queue.
 */
export function authenticate(credentials: Credentials, request: Request, allowQuery = false): Principal | Promise<Principal> {
  const query = allowQuery && EVENT_STREAM.test(new URL(request.url).pathname);
  const token = bearerToken(request, query);
  // A header without the scheme ("Authorization: dpa_…") is the usual first mistake: say how it goes (RFC 6750 §2.1).
  if (token === '' && request.headers.has('authorization')) throw new DoppelError('unauthorized', 'Unauthorized: the Authorization header must be "Bearer <token>"');
  const known = token === undefined || token === '' ? undefined : credentials.verified(token);
  if (known !== undefined) return issued(known, credentials);
  return credentials.authenticate(token).then((principal) => issued(principal, credentials));
}

function issued(principal: Principal, credentials: Credentials): Principal {
  // Admin has nothing to revoke (see onRevoked).
  if (principal.kind !== 'admin') issuers.set(principal, credentials);
  return principal;
}

/** Calls `listener` when `principal`'s key is deleted or device token rotated; returns the remover. */
export function onRevoked(principal: Principal, listener: () => void): () => void {
  const credentials = issuers.get(principal);
  if (principal.kind === 'admin' || credentials === undefined) return () => {};
  const { id } = principal;
  return credentials.onRevoke((revoked) => { if (revoked === id) listener(); });
}
