/**
 * Credentials: the admin token, API keys and device tokens (CONTRACT §4). Turns a bearer string
 * into a `Principal`, creates and revokes keys, and mints device credentials that the twin actor
 * persists together with the twin. Records are cached by kind and id (bounded) so the hot path
 * costs one SHA-256 and a constant-time compare, with no store read. The token's prefix (`dpk_`,
 * `dpd_`) names the kind, so a lookup reads only that kind's records.
 */
import { DoppelError } from '../errors.ts';
import type { CredentialOf, Scope, StoredCredential, TwinStore } from '../store/types.ts';
import type { Principal } from './principal.ts';
import { constantTimeEqual, hashSecret, newToken, parseToken } from './tokens.ts';
import type { RateLimit, RateLimiter } from './rate-limit.ts';

export interface CredentialLimits { device: RateLimit; key: RateLimit }

export interface KeyInfo { id: string; name: string | null; scopes: Scope[]; prefix: string | null; createdAt: string }

export interface Credentials {
  /** Resolves a bearer token (throws `unauthorized`), then charges its rate limit (`rate_limited`). */
  authenticate(token: string | undefined): Promise<Principal>;
  /**
   * Synchronously, the principal of a token that verified before (charged to its rate limit like
   * `authenticate`, so it may throw `rate_limited`); undefined when only `authenticate` can tell.
   */
  verified(token: string): Principal | undefined;
  createKey(input: { name?: string | null; scopes: Scope[]; prefix?: string | null }, now: string): Promise<{ key: KeyInfo; token: string }>;
  listKeys(): Promise<KeyInfo[]>;
  /** One API key by id (one store read), or undefined when there is none. */
  getKey(id: string): Promise<KeyInfo | undefined>;
  deleteKey(id: string): Promise<void>;
  /** A fresh device credential for `twin`; the caller persists it atomically with the twin. */
  mintDeviceCredential(twin: string, now: string): Promise<{ credential: StoredCredential; token: string }>;
  /** Drops the cached records with this id (of either kind) after a revocation or rotation elsewhere. */
  forget(id: string): void;
  /** Calls `listener` with the credential id whenever one is revoked (key deleted, device token rotated or its twin deleted). */
  onRevoke(listener: (id: string) => void): () => void;
}

const CACHE_MAX = 50_000;
/** Verified bearer strings kept, so repeat requests skip hashing (Web Crypto digests are async and costly). */
const VERIFIED_MAX = 20_000;

export async function createCredentials(deps: {
  store: TwinStore; adminToken: string; limiter: RateLimiter; limits: CredentialLimits;
}): Promise<Credentials> {
  const { store, limiter, limits } = deps;
  const adminHash = await hashSecret(deps.adminToken);
  // `{kind}!{id}` → record, or null for "no such credential".
  const cache = new Map<string, StoredCredential | null>();
  const cacheKey = (kind: StoredCredential['kind'], id: string) => `${kind}!${id}`;
  // bearer string → principal, only for tokens that verified; dropped on revoke/rotation via `forget`.
  const verified = new Map<string, Principal>();
  // `{kind}!{id}` → its verified token (one secret per credential verifies), so `forget` is O(1).
  const tokenOf = new Map<string, string>();
  const rememberVerified = (token: string, principal: Principal) => {
    if (verified.size >= VERIFIED_MAX) {
      const [oldest, p] = verified.entries().next().value!;
      verified.delete(oldest);
      if (p.kind !== 'admin') tokenOf.delete(cacheKey(p.kind, p.id));
    }
    verified.set(token, principal);
    if (principal.kind !== 'admin') tokenOf.set(cacheKey(principal.kind, principal.id), token);
  };
  const revokeListeners = new Set<(id: string) => void>();
  const forgetId = (id: string) => {
    generation++;
    for (const listener of revokeListeners) listener(id);
    cache.delete(cacheKey('key', id));
    cache.delete(cacheKey('device', id));
    for (const key of [cacheKey('key', id), cacheKey('device', id)]) {
      const token = tokenOf.get(key);
      if (token !== undefined) { verified.delete(token); tokenOf.delete(key); }
    }
  };
  const charge = (principal: Principal): Principal => {
    if (principal.kind === 'device') limiter.take(principal.id, limits.device);
    else if (principal.kind === 'key') limiter.take(principal.id, limits.key);
    return principal;
  };

  // Bumped by every revocation, so a store read that straddles one is not cached afterwards.
  let generation = 0;
  const lookup = async (kind: StoredCredential['kind'], id: string): Promise<StoredCredential | null> => {
    const at = cacheKey(kind, id);
    const hit = cache.get(at);
    if (hit !== undefined) return hit;
    const seen = generation;
    const record = (await store.getCredential(kind, id)) ?? null;
    if (seen === generation) {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(at, record);
    }
    return record;
  };

  const unauthorized = () => new DoppelError('unauthorized', 'Unauthorized: missing or unknown credential');

  const keyInfo = (c: CredentialOf<'key'>): KeyInfo =>
    ({ id: c.id, name: c.name, scopes: c.scopes, prefix: c.prefix, createdAt: c.createdAt });

  return {
    verified(token) {
      const known = verified.get(token);
      return known === undefined ? undefined : charge(known);
    },

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
      const record = await lookup(parsed.kind, parsed.id);
      if (record === null || record.kind !== parsed.kind || !constantTimeEqual(hash, record.hash)) throw unauthorized();
      const principal: Principal = record.kind === 'device'
        ? { kind: 'device', id: record.id, twin: record.twin }
        : { kind: 'key', id: record.id, scopes: record.scopes, prefix: record.prefix };
      // A revocation may have landed while we awaited the store; only remember what is still cached.
      if (cache.get(cacheKey(record.kind, record.id)) === record) rememberVerified(token, principal);
      return charge(principal);
    },

    async createKey(input, now) {
      const { id, secret, token } = newToken('key');
      const credential: StoredCredential = {
        kind: 'key', id, name: input.name ?? null, scopes: [...new Set(input.scopes)], prefix: input.prefix ?? null,
        hash: await hashSecret(secret), createdAt: now,
      };
      await store.commit([{ type: 'putCredential', credential }]);
      cache.delete(cacheKey('key', id));
      return { key: keyInfo(credential), token };
    },

    async listKeys() {
      return (await store.listCredentials('key')).map(keyInfo);
    },

    async getKey(id) {
      const record = await store.getCredential('key', id);
      return record === undefined ? undefined : keyInfo(record);
    },

    async deleteKey(id) {
      const record = await store.getCredential('key', id);
      if (record === undefined) throw new DoppelError('not_found', `No API key "${id}"`);
      await store.commit([{ type: 'deleteCredential', kind: 'key', id }]);
      forgetId(id);
    },

    async mintDeviceCredential(twin, now) {
      const { id, secret, token } = newToken('device');
      return { credential: { kind: 'device', id, twin, hash: await hashSecret(secret), createdAt: now }, token };
    },

    forget: forgetId,
    onRevoke(listener) {
      revokeListeners.add(listener);
      return () => { revokeListeners.delete(listener); };
    },
  };
}
