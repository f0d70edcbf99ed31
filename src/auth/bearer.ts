/**
 * Where a bearer token travels (CONTRACT §4): `Authorization: Bearer <token>`, or
 * `?access_token=` where a header cannot be set (browsers' EventSource and WebSocket).
 */

/** The token of `request`; '' for a malformed Authorization header, undefined when there is none. */
export function bearerToken(request: Request, allowQuery = true): string | undefined {
  const header = request.headers.get('authorization');
  if (header !== null) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? '';
  }
  // Parsing the URL costs on every request, so only when there is no header.
  if (!allowQuery || !request.url.includes('access_token=')) return undefined;
  return new URL(request.url).searchParams.get('access_token') ?? undefined;
}
