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

export async function createCredentials(deps: {
  store: TwinStore; adminToken: string; limiter: RateLimiter; limits: CredentialLimits;
}): Promise<Credentials> {
  const { store, limiter, limits } = deps;
  const adminHash = await hashSecret(deps.adminToken);
  const cache = new Map<string, StoredCredential | null>();

  const lookup = async (id: string): Promise<StoredCredential | null> => {
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const record = (await store.getCredential(id)) ?? null;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(id, record);
    return record;
  };

  const unauthorized = () => new DoppelError('unauthorized', 'Unauthorized: missing or unknown credential');

  const keyInfo = (c: Extract<StoredCredential, { kind: 'key' }>): KeyInfo =>
    ({ id: c.id, name: c.name, scopes: c.scopes, prefix: c.prefix, createdAt: c.createdAt });

  return {
    async authenticate(token) {
      if (token === undefined || token === '') throw unauthorized();
      const parsed = parseToken(token);
      if (parsed === null) {
        if (constantTimeEqual(await hashSecret(token), adminHash)) return { kind: 'admin' };
        throw unauthorized();
      }
      const hash = await hashSecret(parsed.secret);
      const record = await lookup(parsed.id);
      if (record === null || record.kind !== parsed.kind || !constantTimeEqual(hash, record.hash)) throw unauthorized();
      if (record.kind === 'device') {
        limiter.take(record.id, limits.device);
        return { kind: 'device', id: record.id, twin: record.twin };
      }
      limiter.take(record.id, limits.key);
      return { kind: 'key', id: record.id, scopes: record.scopes, prefix: record.prefix };
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
      cache.delete(id);
    },

    async mintDeviceCredential(twin, now) {
      const { id, secret, token } = newToken('device');
      return { credential: { kind: 'device', id, twin, hash: await hashSecret(secret), createdAt: now }, token };
    },

    forget(id) { cache.delete(id); },
  };
}
