/**
 * Secrets are compared in constant time: `constantTimeEqual` is right for equal, unequal and
 * different-length inputs, and authentication compares every presented secret (admin token, API
 * key, device token; right or wrong) through it, as equal-length hashes, never with `===`. No
 * timing is measured: that would be flaky on a busy machine and prove little.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';

// A spy that calls through, so authentication behaves exactly as in production.
vi.mock('../../src/auth/tokens.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/auth/tokens.ts')>();
  return { ...actual, constantTimeEqual: vi.fn(actual.constantTimeEqual) };
});

const { constantTimeEqual, hashSecret } = await import('../../src/auth/tokens.ts');
const { createCredentials } = await import('../../src/auth/credentials.ts');
const { createRateLimiter } = await import('../../src/auth/rate-limit.ts');
const { createMemoryStore } = await import('../../src/store/memory-store.ts');

const spy = vi.mocked(constantTimeEqual);
const ADMIN = 'dpa_constant-time-admin-token-0123456789';
const NOW = '2026-11-23T10:00:00.000Z';

describe('constantTimeEqual', () => {
  it('answers true for equal strings and false for any difference, whatever the lengths', () => {
    const h = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
    expect(constantTimeEqual(h, h)).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual(h, `${h.slice(0, -1)}d`)).toBe(false); // last character
    expect(constantTimeEqual(h, `Q${h.slice(1)}`)).toBe(false); // first character
    expect(constantTimeEqual(h, h.slice(0, -1))).toBe(false); // a prefix
    expect(constantTimeEqual(h.slice(0, -1), h)).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual('a', 'a\0')).toBe(false); // a missing character is not a NUL
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});

describe('authentication', () => {
  it('compares every presented secret through constantTimeEqual, as hashes of equal length', async () => {
    const store = createMemoryStore();
    await store.open();
    const credentials = await createCredentials({
      store, adminToken: ADMIN, limiter: createRateLimiter(), limits: { device: { rate: 100, burst: 200 }, key: { rate: 1000, burst: 2000 } },
    });
    const { token: key } = await credentials.createKey({ scopes: ['twins:read'] }, NOW);
    const { credential, token: device } = await credentials.mintDeviceCredential('t-1', NOW);
    await store.commit([{ type: 'putCredential', credential }]);
    const wrong = (token: string) => `${token.slice(0, token.indexOf('.') + 1)}${'x'.repeat(43)}`;

    for (const [token, accepted] of [[ADMIN, true], [`${ADMIN}x`, false], [key, true], [wrong(key), false], [device, true], [wrong(device), false]] as const) {
      spy.mockClear();
      const outcome = await credentials.authenticate(token).then(() => true, () => false);
      expect(outcome, token).toBe(accepted);
      expect(spy, `${token} was compared in constant time`).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]!;
      expect(a.length).toBe(b.length);
      const secret = token.includes('.') && !token.startsWith('dpa_') ? token.slice(token.indexOf('.') + 1) : token;
      expect(a).toBe(await hashSecret(secret));
      expect(spy.mock.results[0]!.value).toBe(accepted);
    }
  });

  it('never compares a hash, secret or token with === in src/auth (checks for absence aside)', async () => {
    const absent = new Set(['undefined', 'null', "''", '""']);
    let comparisons = 0;
    for (const file of ['credentials.ts', 'tokens.ts', 'bearer.ts', 'principal.ts']) {
      const source = await readFile(new URL(`../../src/auth/${file}`, import.meta.url), 'utf8');
      for (const [, left, right] of source.matchAll(/([\w.'"]+)\s*[!=]==\s*([\w.'"]+)/g)) {
        comparisons++;
        const secretish = /hash|secret|token/i.test(left!) || /hash|secret|token/i.test(right!);
        expect(secretish && !absent.has(left!) && !absent.has(right!), `${file}: ${left} vs ${right}`).toBe(false);
      }
    }
    expect(comparisons, 'the scan sees the comparisons there are').toBeGreaterThan(5);
  });
});
