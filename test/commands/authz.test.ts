/**
 * The command routes × every credential kind (the authorization fixture of test/authz): each cell
 * asserts the status, and a refused cell that nothing was invoked, cancelled or answered and that
 * its reply holds no command data. Outcomes written out from the README's Commands section:
 * invoking and cancelling need twins:write within the key's prefix, reading twins:read (or the
 * twin's own device token), answering the twin's own device token (or admin).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDS, setupFixture } from '../authz/fixtures.ts';
import type { Cred, Fixture } from '../authz/fixtures.ts';
import type { CommandJson } from './helpers.ts';

type Row = 'invoke' | 'list' | 'get' | 'cancel' | 'answer';

const TABLE: Record<Row, readonly number[]> = {
  //       none unknown malformed device otherDevice read write prefixA prefixB keysAdmin admin
  invoke: [401, 401,    401,      403,   403,        403, 202,  202,    403,    403,      202],
  list:   [401, 401,    401,      200,   403,        200, 403,  200,    403,    403,      200],
  get:    [401, 401,    401,      200,   403,        200, 403,  200,    403,    403,      200],
  cancel: [401, 401,    401,      403,   403,        403, 200,  200,    403,    403,      200],
  answer: [401, 401,    401,      200,   403,        403, 403,  403,    403,    403,      200],
};

const SECRET_NAME = 'secret-cmd';
let fx: Fixture;
beforeAll(async () => { fx = await setupFixture(); });
afterAll(async () => { await fx?.stop(); });

async function send(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fx.t.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}

const adminList = async (id: string) => ((await (await fx.t.call('GET', `/v1/twins/${id}/commands`)).json()) as { items: CommandJson[] }).items;

describe('command routes × every credential', () => {
  for (const [row, cells] of Object.entries(TABLE) as Array<[Row, readonly number[]]>) {
    for (const [i, cred] of CREDS.entries()) {
      const expected = cells[i]!;
      it(`${row} × ${cred} → ${expected}`, async () => {
        const id = fx.target(cred as Cred, `cmd-${row}-${cred}`);
        await fx.twin(id);
        const token = await fx.token(cred as Cred, id);
        const created = await fx.t.call('POST', `/v1/twins/${id}/commands`, { body: { name: SECRET_NAME, payload: 'SECRET', ttlSeconds: 600 } });
        const { id: cid } = (await created.json()) as CommandJson;
        const before = await adminList(id);
        const base = `/v1/twins/${id}/commands`;
        const reply = row === 'invoke' ? await send('POST', base, token, { name: 'another', ttlSeconds: 60 })
          : row === 'list' ? await send('GET', base, token)
            : row === 'get' ? await send('GET', `${base}/${cid}`, token)
              : row === 'cancel' ? await send('DELETE', `${base}/${cid}`, token)
                : await send('POST', `${base}/${cid}/result`, token, { status: 'succeeded' });
        expect(reply.status, reply.text).toBe(expected);
        if (expected >= 400) {
          expect(reply.text).not.toContain(SECRET_NAME);
          expect(reply.text).not.toContain('SECRET"');
          expect(JSON.parse(reply.text)).toMatchObject({ code: expected === 401 ? 'unauthorized' : 'forbidden' });
          // A listing by the device token would deliver; the admin's does not: before and after must match.
          expect(await adminList(id), 'a refused request changes nothing').toEqual(before);
        }
      });
    }
  }
});
