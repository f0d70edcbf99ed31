/**
 * Bearer authentication for the HTTP edge (CONTRACT §4): `Authorization: Bearer <token>`, or
 * `?access_token=` where a header cannot be set (browsers' EventSource, WebSocket).
 */
import type { Credentials, Principal } from '../../src/auth/index.ts';

export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  if (header !== null) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? '';
  }
  // Parsing the URL costs on every request, so only when there is no header.
  if (!request.url.includes('access_token=')) return undefined;
  return new URL(request.url).searchParams.get('access_token') ?? undefined;
}

export function authenticate(credentials: Credentials, request: Request): Promise<Principal> {
  return credentials.authenticate(bearerToken(request));
}
