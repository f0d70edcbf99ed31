/**
 * Fixtures of the authorization matrix (test/authz): one server per test file with the rate
 * limits out of the way, the credential kinds every matrix crosses, and twins whose documents
 * carry marker strings, so a reply that leaks twin data is caught by a plain substring test.
 */
import { expect } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

/**
 * Every credential kind, in the column order of the tables. `prefixA` and `prefixB` are the same
 * key (twins:read + twins:write limited to "a-"), used on an "a-" twin and on a "b-" twin.
 */
export const CREDS = ['none', 'unknown', 'malformed', 'device', 'otherDevice', 'read', 'write', 'prefixA', 'prefixB', 'keysAdmin', 'admin'] as const;
export type Cred = (typeof CREDS)[number];
/** The kinds that authenticate (a session or observation can be opened with them). */
export const VALID: readonly Cred[] = ['device', 'otherDevice', 'read', 'write', 'prefixA', 'prefixB', 'keysAdmin', 'admin'];

/** Well-formed tokens of no credential, and a string that is no token at all. */
export const UNKNOWN_KEY = `dpk_${'A'.repeat(16)}.${'B'.repeat(43)}`;
export const UNKNOWN_DEVICE = `dpd_${'A'.repeat(16)}.${'B'.repeat(43)}`;
export const MALFORMED = 'dpk_!!.x';

/** In every fixture twin's documents and nowhere else: a reply containing MARK carries twin data. */
export const MARK = 'SECRET';
export const TAG_MARK = 'SECRET-tag';

/**
 * The matrix makes hundreds of requests per credential within seconds: no cell may be rate limited.
 * A short drain, since the event streams cells abort can hold their connection for seconds.
 */
const FLAGS = ['--key-rate', '1000000', '--key-burst', '1000000', '--device-rate', '1000000', '--device-burst', '1000000', '--shutdown-seconds', '1'];

export interface TwinContent { version: number; desired: Record<string, unknown>; reported: Record<string, unknown>; tags: Record<string, unknown> }
export interface Key { id: string; token: string }

export interface Fixture {
  t: TestServer;
  /** read: twins:read; write: twins:write; prefixed: both, limited to "a-"; keysAdmin: keys:admin only. */
  keys: { read: Key; write: Key; prefixed: Key; keysAdmin: Key };
  /** The device token of `o-other`, a twin no cell targets. */
  otherDevice: string;
  /** Twin `name` of a cell: under "b-" for the prefix key used outside its prefix, else under "a-". */
  target(cred: Cred, name: string): string;
  /** Creates twin `id` with marked desired, reported and tags; it is then at version 2. */
  twin(id: string): Promise<void>;
  /** Issues (rotates) the device token of `id` with the admin token. */
  issue(id: string): Promise<string>;
  /** The token a cell on twin `id` presents (null: none); `device` gets a fresh token of `id`. */
  token(cred: Cred, id: string, unknown?: string): Promise<string | null>;
  /** The admin's view of `id`, what a refused write must leave alone; null when there is none. */
  state(id: string): Promise<TwinContent | null>;
  /** The admin's whole twin (connection included). */
  adminTwin(id: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function setupFixture(flags: string[] = []): Promise<Fixture> {
  const t = await startTestServer([...FLAGS, ...flags]);
  const key = async (body: Record<string, unknown>): Promise<Key> => {
    const res = await t.call('POST', '/v1/keys', { body });
    expect(res.status).toBe(201);
    return (await res.json()) as Key;
  };
  const issue = async (id: string): Promise<string> => {
    const res = await t.call('POST', `/v1/twins/${id}/token`);
    expect(res.status, `token of ${id}`).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };
  const twin = async (id: string): Promise<void> => {
    const created = await t.call('POST', '/v1/twins', { body: { id, desired: { note: `${MARK}-desired`, temp: 21 }, tags: { note: TAG_MARK } } });
    expect(created.status, `create ${id}: ${await created.clone().text()}`).toBe(201);
    expect((await t.call('PATCH', `/v1/twins/${id}/reported`, { body: { note: `${MARK}-reported` } })).status).toBe(200);
  };
  const keys = {
    read: await key({ name: 'reader', scopes: ['twins:read'] }),
    write: await key({ name: 'writer', scopes: ['twins:write'] }),
    prefixed: await key({ name: 'a-only', scopes: ['twins:read', 'twins:write'], prefix: 'a-' }),
    keysAdmin: await key({ name: 'key-manager', scopes: ['keys:admin'] }),
  };
  await twin('o-other');
  const otherDevice = await issue('o-other');

  return {
    t, keys, otherDevice, twin, issue,
    target: (cred, name) => `${cred === 'prefixB' ? 'b' : 'a'}-${name}`,
    async token(cred, id, unknown = UNKNOWN_KEY) {
      switch (cred) {
        case 'none': return null;
        case 'unknown': return unknown;
        case 'malformed': return MALFORMED;
        case 'device': return issue(id);
        case 'otherDevice': return otherDevice;
        case 'read': return keys.read.token;
        case 'write': return keys.write.token;
        case 'prefixA': case 'prefixB': return keys.prefixed.token;
        case 'keysAdmin': return keys.keysAdmin.token;
        case 'admin': return ADMIN;
      }
    },
    async state(id) {
      const res = await t.call('GET', `/v1/twins/${id}`);
      if (res.status === 404) { await res.body?.cancel(); return null; }
      expect(res.status).toBe(200);
      const { version, desired, reported, tags } = (await res.json()) as TwinContent;
      return { version, desired, reported, tags };
    },
    async adminTwin(id) {
      const res = await t.call('GET', `/v1/twins/${id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    },
    stop: () => t.stop(),
  };
}

/** Splits a table cell such as `'200 twin'` into its status (or code) and the reply's expected shape. */
export function parseCell(cell: string): { status: string; shape: string } {
  const [status, shape = ''] = cell.split(' ');
  return { status: status!, shape };
}

/** Asserts a refusal body holds no twin data. */
export function expectNoTwinData(text: string, what: string): void {
  expect(text.includes(MARK), `${what} leaks twin data: ${text.slice(0, 300)}`).toBe(false);
}
