import { describe, expect, it, vi } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import { createCredentials } from './credentials.ts';
import type { CredentialLimits } from './credentials.ts';
import { createRateLimiter } from './rate-limit.ts';

const ADMIN = 'dpa_admin-token-for-tests-0123456789';
const NOW = '2026-11-23T10:00:00.000Z';

async function setup(limits: CredentialLimits = { device: { rate: 100, burst: 200 }, key: { rate: 1000, burst: 2000 } }) {
  const store = createMemoryStore();
  await store.open();
  const clock = { t: 0 };
  const limiter = createRateLimiter(() => clock.t);
  const credentials = await createCredentials({ store, adminToken: ADMIN, limiter, limits });
  /** Mints a device credential for `twin` and persists it as the twin actor would. */
  const device = async (twin: string) => {
    const { credential, token } = await credentials.mintDeviceCredential(twin, NOW);
    await store.commit([{ type: 'putCredential', credential }]);
    return { id: credential.id, token };
  };
  return { store, clock, credentials, device };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (err) { return (err as DoppelError).code; }
  return 'accepted';
}

describe('Credentials.authenticate()', () => {
  it('accepts the admin token', async () => {
    const { credentials } = await setup();
    expect(await credentials.authenticate(ADMIN)).toEqual({ kind: 'admin' });
  });

  it('refuses a missing, empty or unknown token with unauthorized', async () => {
    const { credentials } = await setup();
    for (const token of [undefined, '', 'nope', `${ADMIN}x`, ADMIN.slice(0, -1), `dpk_abcdefgh.${'s'.repeat(20)}`, `dpd_abcdefgh.${'s'.repeat(20)}`]) {
      expect({ token, code: await codeOf(credentials.authenticate(token)) }).toEqual({ token, code: 'unauthorized' });
    }
  });

  it('refuses a known id with the wrong secret', async () => {
    const { credentials } = await setup();
    const { token } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const wrong = `${token.slice(0, token.indexOf('.') + 1)}${'x'.repeat(43)}`;
    expect(await codeOf(credentials.authenticate(wrong))).toBe('unauthorized');
  });

  it('refuses a key presented as a device token and vice versa', async () => {
    const { credentials, device } = await setup();
    const { token: keyToken } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const { token: deviceToken } = await device('a');
    expect(await codeOf(credentials.authenticate(`dpd_${keyToken.slice(4)}`))).toBe('unauthorized');
    expect(await codeOf(credentials.authenticate(`dpk_${deviceToken.slice(4)}`))).toBe('unauthorized');
  });

  it('authenticates a device credential minted, then persisted through a store commit, as that device', async () => {
    const { credentials, device } = await setup();
    const { id, token } = await device('thermo-42');
    expect(await credentials.authenticate(token)).toEqual({ kind: 'device', id, twin: 'thermo-42' });
  });

  it('mints a fresh credential with only the hash of its secret', async () => {
    const { credentials } = await setup();
    const { credential, token } = await credentials.mintDeviceCredential('a', NOW);
    expect(credential).toMatchObject({ kind: 'device', twin: 'a', createdAt: NOW });
    expect(token.startsWith(`dpd_${credential.id}.`)).toBe(true);
    expect(JSON.stringify(credential)).not.toContain(token.slice(token.indexOf('.') + 1));
    const other = await credentials.mintDeviceCredential('a', NOW);
    expect(other.credential.id).not.toBe(credential.id);
  });

  it('stops accepting a device token once its record is deleted and forgotten', async () => {
    const { credentials, device, store } = await setup();
    const { id, token } = await device('a');
    await credentials.authenticate(token);
    await store.commit([{ type: 'deleteCredential', kind: 'device', id }]);
    credentials.forget(id);
    expect(await codeOf(credentials.authenticate(token))).toBe('unauthorized');
  });

  it('verified() knows a token only after it authenticated, and forgets it with its credential', async () => {
    const { credentials, device, store } = await setup();
    const { id, token } = await device('a');
    expect(credentials.verified(token)).toBeUndefined();
    expect(credentials.verified(ADMIN)).toBeUndefined();
    await credentials.authenticate(token);
    await credentials.authenticate(ADMIN);
    expect(credentials.verified(token)).toEqual({ kind: 'device', id, twin: 'a' });
    expect(credentials.verified(ADMIN)).toEqual({ kind: 'admin' });
    await store.commit([{ type: 'deleteCredential', kind: 'device', id }]);
    credentials.forget(id);
    expect(credentials.verified(token)).toBeUndefined();
  });

  it('verified() charges the rate limit like authenticate()', async () => {
    const { credentials, device } = await setup({ device: { rate: 1, burst: 2 }, key: { rate: 1000, burst: 2000 } });
    const { token } = await device('a');
    await credentials.authenticate(token);
    expect(() => credentials.verified(token)).not.toThrow();
    expect(() => credentials.verified(token)).toThrow(expect.objectContaining({ code: 'rate_limited' }));
  });

  it("looks a token up only among the credentials of its prefix's kind", async () => {
    const { credentials, device, store } = await setup();
    const { key, token: keyToken } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const { id, token: deviceToken } = await device('a');
    const reads = vi.spyOn(store, 'getCredential');
    await credentials.authenticate(keyToken);
    await credentials.authenticate(deviceToken);
    expect(reads.mock.calls).toEqual([['key', key.id], ['device', id]]);
  });

  it('tells a key and a device credential with the same id apart by the token prefix', async () => {
    const { credentials, store } = await setup();
    const { key, token: keyToken } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    // A device credential that happens to share the key's id (ids are random; this forces it).
    const { credential, token } = await credentials.mintDeviceCredential('a', NOW);
    const deviceToken = `dpd_${key.id}${token.slice(token.indexOf('.'))}`;
    await store.commit([{ type: 'putCredential', credential: { ...credential, id: key.id } }]);
    expect(await credentials.authenticate(keyToken)).toMatchObject({ kind: 'key', id: key.id });
    expect(await credentials.authenticate(deviceToken)).toEqual({ kind: 'device', id: key.id, twin: 'a' });
    await credentials.deleteKey(key.id);
    expect(await codeOf(credentials.authenticate(keyToken))).toBe('unauthorized');
    expect(await credentials.authenticate(deviceToken)).toEqual({ kind: 'device', id: key.id, twin: 'a' });
  });
});

describe('Credentials API keys', () => {
  it('creates a key that authenticates with its scopes and prefix', async () => {
    const { credentials } = await setup();
    const { key, token } = await credentials.createKey({ name: 'ci', scopes: ['twins:read', 'twins:write', 'twins:read'], prefix: 'site-a:' }, NOW);
    expect(key).toEqual({ id: key.id, name: 'ci', scopes: ['twins:read', 'twins:write'], prefix: 'site-a:', createdAt: NOW });
    expect(token.startsWith(`dpk_${key.id}.`)).toBe(true);
    expect(await credentials.authenticate(token)).toEqual({ kind: 'key', id: key.id, scopes: ['twins:read', 'twins:write'], prefix: 'site-a:' });
  });

  it('defaults name and prefix to null', async () => {
    const { credentials } = await setup();
    const { key } = await credentials.createKey({ scopes: ['keys:admin'] }, NOW);
    expect(key).toMatchObject({ name: null, prefix: null, scopes: ['keys:admin'] });
  });

  it('stores only the hash of a key\'s secret', async () => {
    const { credentials, store } = await setup();
    const { key, token } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const stored = await store.getCredential('key', key.id);
    expect(stored?.kind).toBe('key');
    expect(JSON.stringify(stored)).not.toContain(token.slice(token.indexOf('.') + 1));
  });

  it('lists keys without hash or token, and without device credentials', async () => {
    const { credentials, device } = await setup();
    const a = await credentials.createKey({ name: 'a', scopes: ['twins:read'] }, NOW);
    const b = await credentials.createKey({ name: 'b', scopes: ['twins:write'], prefix: 'x' }, NOW);
    await device('t');
    const list = await credentials.listKeys();
    expect(list.map((k) => k.id).sort()).toEqual([a.key.id, b.key.id].sort());
    for (const k of list) {
      expect(Object.keys(k).sort()).toEqual(['createdAt', 'id', 'name', 'prefix', 'scopes']);
    }
    const text = JSON.stringify(list);
    for (const { token } of [a, b]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(token.indexOf('.') + 1));
    }
    expect(text).not.toContain('hash');
  });

  it('deletes a key, which then no longer authenticates', async () => {
    const { credentials } = await setup();
    const { key, token } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    await credentials.authenticate(token); // cached
    await credentials.deleteKey(key.id);
    expect(await credentials.listKeys()).toEqual([]);
    expect(await codeOf(credentials.authenticate(token))).toBe('unauthorized');
  });

  it('getKey() answers one key by id, and nothing for an unknown id or a device credential', async () => {
    const { credentials, device, store } = await setup();
    const { key } = await credentials.createKey({ name: 'ci', scopes: ['twins:read'], prefix: 'site-a:' }, NOW);
    const { id } = await device('a');
    const lists = vi.spyOn(store, 'listCredentials');
    expect(await credentials.getKey(key.id)).toEqual(key);
    expect(await credentials.getKey(id)).toBeUndefined();
    expect(await credentials.getKey('nope')).toBeUndefined();
    expect(lists).not.toHaveBeenCalled();
  });

  it('answers not_found when deleting an unknown key or a device credential', async () => {
    const { credentials, device } = await setup();
    expect(await codeOf(credentials.deleteKey('nope'))).toBe('not_found');
    const { id, token } = await device('a');
    expect(await codeOf(credentials.deleteKey(id))).toBe('not_found');
    expect(await credentials.authenticate(token)).toMatchObject({ kind: 'device' });
  });
});

describe('Credentials rate limits', () => {
  const limits: CredentialLimits = { device: { rate: 1, burst: 2 }, key: { rate: 1, burst: 3 } };

  it('applies the device limit per device credential', async () => {
    const { credentials, device, clock } = await setup(limits);
    const one = await device('a');
    const two = await device('b');
    expect(await codeOf(credentials.authenticate(one.token))).toBe('accepted');
    expect(await codeOf(credentials.authenticate(one.token))).toBe('accepted');
    expect(await codeOf(credentials.authenticate(one.token))).toBe('rate_limited');
    expect(await codeOf(credentials.authenticate(two.token))).toBe('accepted');
    clock.t += 1000;
    expect(await codeOf(credentials.authenticate(one.token))).toBe('accepted');
    expect(await codeOf(credentials.authenticate(one.token))).toBe('rate_limited');
  });

  it('applies the key limit per key', async () => {
    const { credentials } = await setup(limits);
    const { token } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const { token: other } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    for (let i = 0; i < 3; i++) expect(await codeOf(credentials.authenticate(token))).toBe('accepted');
    expect(await codeOf(credentials.authenticate(token))).toBe('rate_limited');
    expect(await codeOf(credentials.authenticate(other))).toBe('accepted');
  });

  it('answers rate_limited with retryAfter', async () => {
    const { credentials, device } = await setup(limits);
    const { token } = await device('a');
    await credentials.authenticate(token);
    await credentials.authenticate(token);
    const err = await credentials.authenticate(token).then(() => null, (e: unknown) => e as DoppelError);
    expect(err?.retryAfter).toBeGreaterThanOrEqual(1);
  });

  it('does not limit the admin token', async () => {
    const { credentials } = await setup(limits);
    for (let i = 0; i < 500; i++) expect(await credentials.authenticate(ADMIN)).toEqual({ kind: 'admin' });
  });

  it('does not charge a credential for a failed authentication', async () => {
    const { credentials, device } = await setup(limits);
    const { token } = await device('a');
    const wrong = `${token.slice(0, token.indexOf('.') + 1)}${'x'.repeat(43)}`;
    for (let i = 0; i < 10; i++) expect(await codeOf(credentials.authenticate(wrong))).toBe('unauthorized');
    expect(await codeOf(credentials.authenticate(token))).toBe('accepted');
  });
});

describe('Credentials revocation racing with authentication', () => {
  const ticks = async (n: number) => { for (let i = 0; i < n; i++) await Promise.resolve(); };

  it('never accepts a key after deleteKey has resolved, however the two interleave', async () => {
    for (const warm of [false, true]) {
      for (let delay = 0; delay < 12; delay++) {
        const { credentials } = await setup();
        const { key, token } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
        if (warm) await credentials.authenticate(token);
        const racing = credentials.authenticate(token).then(() => 'accepted', (e: unknown) => (e as DoppelError).code);
        await ticks(delay);
        await credentials.deleteKey(key.id);
        await racing;
        expect({ warm, delay, after: await codeOf(credentials.authenticate(token)) }).toEqual({ warm, delay, after: 'unauthorized' });
      }
    }
  });

  it('never accepts a rotated device token after the store commit and forget(), however they interleave', async () => {
    for (const warm of [false, true]) {
      for (let delay = 0; delay < 12; delay++) {
        const { credentials, device, store } = await setup();
        const { id, token } = await device('a');
        if (warm) await credentials.authenticate(token);
        const racing = credentials.authenticate(token).catch(() => undefined);
        await ticks(delay);
        await store.commit([{ type: 'deleteCredential', kind: 'device', id }]);
        credentials.forget(id);
        await racing;
        expect({ warm, delay, after: await codeOf(credentials.authenticate(token)) }).toEqual({ warm, delay, after: 'unauthorized' });
      }
    }
  });
});
