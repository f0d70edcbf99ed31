/**
 * Credentials: the admin token, API keys and device tokens (CONTRACT §4). Turns a bearer string
 * into a `Principal`, creates and revokes keys, and mints device credentials that the twin actor
 * persists together with the twin. Records are cached by id (bounded) so the hot path costs one
 * SHA-256 and a constant-time compare, with no store read.
 */
import { DoppelError } from '../errors.ts';
import type { Scope, StoredCredential, TwinStore } from '../store/types.ts';
import type { Principal } from './principal.ts';
import { constantTimeEqual, hashSecret, newToken, parseToken } from './tokens.ts';
import type { RateLimit, RateLimiter } from './rate-limit.ts';

export interface CredentialLimits { device: RateLimit; key: RateLimit }

export interface KeyInfo { id: string; name: string | null; scopes: Scope[]; prefix: string | null; createdAt: string }

export interface Credentials {
  /** Resolves a bearer token (throws `unauthorized`), then charges its rate limit (`rate_limited`). */
  authenticate(token: string | undefined): Promise<Principal>;
  createKey(input: { name?: string | null; scopes: Scope[]; prefix?: string | null }, now: string): Promise<{ key: KeyInfo; token: string }>;
  listKeys(): Promise<KeyInfo[]>;
  deleteKey(id: string): Promise<void>;
  /** A fresh device credential for `twin`; the caller persists it atomically with the twin. */
  mintDeviceCredential(twin: string, now: string): Promise<{ credential: StoredCredential; token: string }>;
  /** Drops a cached record after it was revoked or rotated elsewhere. */
  forget(id: string): void;
}

const CACHE_MAX = 50_000;
/** Verified bearer strings kept, so repeat requests skip hashing (Web Crypto digests are async and costly). */
const VERIFIED_MAX = 20_000;

export async function createCredentials(deps: {
  store: TwinStore; adminToken: string; limiter: RateLimiter; limits: CredentialLimits;
}): Promise<Credentials> {
  const { store, limiter, limits } = deps;
  const adminHash = await hashSecret(deps.adminToken);
  const cache = new Map<string, StoredCredential | null>();
  // bearer string → principal, only for tokens that verified; dropped on revoke/rotation via `forget`.
  const verified = new Map<string, Principal>();
  const rememberVerified = (token: string, principal: Principal) => {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, principal);
  };
  const forgetId = (id: string) => {
    generation++;
    cache.delete(id);
    for (const [token, p] of verified) if (p.kind !== 'admin' && p.id === id) verified.delete(token);
  };
  const charge = (principal: Principal): Principal => {
    if (principal.kind === 'device') limiter.take(principal.id, limits.device);
    else if (principal.kind === 'key') limiter.take(principal.id, limits.key);
    return principal;
  };

  // Bumped by every revocation, so a store read that straddles one is not cached afterwards.
  let generation = 0;
  const lookup = async (id: string): Promise<StoredCredential | null> => {
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const seen = generation;
    const record = (await store.getCredential(id)) ?? null;
    if (seen === generation) {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(id, record);
    }
    return record;
  };

  const unauthorized = () => new DoppelError('unauthorized', 'Unauthorized: missing or unknown credential');

  const keyInfo = (c: Extract<StoredCredential, { kind: 'key' }>): KeyInfo =>
    ({ id: c.id, name: c.name, scopes: c.scopes, prefix: c.prefix, createdAt: c.createdAt });

  return {
    async authenticate(token) {
      if (token === undefined || token === '') throw unauthorized();
      const known = verified.get(token);
      if (known !== undefined) return charge(known);
      const parsed = parseToken(token);
      if (parsed === null) {
        if (!constantTimeEqual(await hashSecret(token), adminHash)) throw unauthorized();
        const admin: Principal = { kind: 'admin' };
        rememberVerified(token, admin);
        return admin;
      }
      const hash = await hashSecret(parsed.secret);
      const record = await lookup(parsed.id);
      if (record === null || record.kind !== parsed.kind || !constantTimeEqual(hash, record.hash)) throw unauthorized();
      const principal: Principal = record.kind === 'device'
        ? { kind: 'device', id: record.id, twin: record.twin }
        : { kind: 'key', id: record.id, scopes: record.scopes, prefix: record.prefix };
      // A revocation may have landed while we awaited the store; only remember what is still cached.
      if (cache.get(record.id) === record) rememberVerified(token, principal);
      return charge(principal);
    },

    async createKey(input, now) {
      const { id, secret, token } = newToken('key');
      const credential: StoredCredential = {
        kind: 'key', id, name: input.name ?? null, scopes: [...new Set(input.scopes)], prefix: input.prefix ?? null,
        hash: await hashSecret(secret), createdAt: now,
      };
      await store.commit([{ type: 'putCredential', credential }]);
      cache.delete(id);
      return { key: keyInfo(credential), token };
    },

    async listKeys() {
      const all = await store.listCredentials('key');
      return all.flatMap((c) => (c.kind === 'key' ? [keyInfo(c)] : []));
    },

    async deleteKey(id) {
      const record = await store.getCredential(id);
      if (record === undefined || record.kind !== 'key') throw new DoppelError('not_found', `No API key "${id}"`);
      await store.commit([{ type: 'deleteCredential', id }]);
      forgetId(id);
    },

    async mintDeviceCredential(twin, now) {
      const { id, secret, token } = newToken('device');
      return { credential: { kind: 'device', id, twin, hash: await hashSecret(secret), createdAt: now }, token };
    },

    forget: forgetId,
  };
}
