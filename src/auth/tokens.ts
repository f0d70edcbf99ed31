/**
 * Token strings and their hashes. A token is `dpk_<id>.<secret>` (API key) or `dpd_<id>.<secret>`
 * (device): the id finds the stored record in one read, and only SHA-256(secret) is stored, so a
 * leaked database reveals no usable credential. The secrets carry 256 bits of entropy, which is why
 * a fast hash (not a password KDF) is right here. Web Crypto keeps this runtime-neutral.
 */

export type TokenKind = 'key' | 'device';
const PREFIX: Record<TokenKind, string> = { key: 'dpk_', device: 'dpd_' };

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `n` random bytes, base64url-encoded. */
export function randomToken(n: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** A new credential id and secret and the token string that carries both. */
export function newToken(kind: TokenKind): { id: string; secret: string; token: string } {
  const id = randomToken(12);
  const secret = randomToken(32);
  return { id, secret, token: `${PREFIX[kind]}${id}.${secret}` };
}

/** Splits a token string; null if it is not one of ours. */
export function parseToken(token: string): { kind: TokenKind; id: string; secret: string } | null {
  const kind: TokenKind | null = token.startsWith(PREFIX.key) ? 'key' : token.startsWith(PREFIX.device) ? 'device' : null;
  if (kind === null) return null;
  const dot = token.indexOf('.', 4);
  if (dot < 0) return null;
  const id = token.slice(4, dot);
  const secret = token.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id) || secret.length < 16 || secret.length > 256) return null;
  return { kind, id, secret };
}

const encoder = new TextEncoder();

/** SHA-256 of a secret, base64url. */
export async function hashSecret(secret: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret))));
}

/** Compares two strings in time that depends only on their lengths (which are public: hash sizes). */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
