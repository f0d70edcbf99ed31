/**
 * The CoAP authorization matrix: every resource (with and without Observe) × every credential kind
 * in `?token=`. A cell asserts the response code, the payload of an allowed read (the device view,
 * never tags), that a refusal's diagnostic leaks no twin data, that a refused write changed nothing,
 * that a refused registration holds no observation, and that only the device's own requests count
 * as device contact (`connection`). Then: a rotated device token or a deleted key loses its
 * observations at once, as its WebSocket sessions do. Outcomes from CONTRACT §6 and the README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedPacket } from 'coap-packet';
import { ADMIN } from '../support/server.ts';
import { eventually, json, metric, option, RawClient } from '../coap/helpers.ts';
import { CREDS, TAG_MARK, UNKNOWN_DEVICE, expectNoTwinData, parseCell, setupFixture } from './fixtures.ts';
import type { Cred, Fixture } from './fixtures.ts';

let fx: Fixture;
let client: RawClient;
beforeAll(async () => {
  fx = await setupFixture();
  client = await RawClient.open(fx.t.server.coapPort);
});
afterAll(async () => {
  await client?.close();
  await fx?.stop();
});

type Row = 'get' | 'desired' | 'delta' | 'observeDesired' | 'observeDelta' | 'put' | 'post' | 'wellKnown';

// A cell: the response code, then what an allowed answer holds: view {version, desired, reported,
// delta}; desired / delta: that part; observed: a registration (Observe option) notified of changes;
// generic: the /t collection link only; own: the links of the token's own twin.
const TABLE: Record<Row, readonly string[]> = {
  //               none            unknown  malformed device          otherDevice  read            write   prefixA         prefixB   keysAdmin  admin
  get:            ['4.01',         '4.01',  '4.01',   '2.05 view',     '4.03',      '2.05 view',     '4.03', '2.05 view',     '4.03',   '4.03',    '2.05 view'],
  desired:        ['4.01',         '4.01',  '4.01',   '2.05 desired',  '4.03',      '2.05 desired',  '4.03', '2.05 desired',  '4.03',   '4.03',    '2.05 desired'],
  delta:          ['4.01',         '4.01',  '4.01',   '2.05 delta',    '4.03',      '2.05 delta',    '4.03', '2.05 delta',    '4.03',   '4.03',    '2.05 delta'],
  observeDesired: ['4.01',         '4.01',  '4.01',   '2.05 observed', '4.03',      '2.05 observed', '4.03', '2.05 observed', '4.03',   '4.03',    '2.05 observed'],
  observeDelta:   ['4.01',         '4.01',  '4.01',   '2.05 observed', '4.03',      '2.05 observed', '4.03', '2.05 observed', '4.03',   '4.03',    '2.05 observed'],
  put:            ['4.01',         '4.01',  '4.01',   '2.04',          '4.03',      '4.03',          '4.03', '4.03',          '4.03',   '4.03',    '2.04'],
  post:           ['4.01',         '4.01',  '4.01',   '2.04',          '4.03',      '4.03',          '4.03', '4.03',          '4.03',   '4.03',    '2.04'],
  wellKnown:      ['2.05 generic', '4.01',  '4.01',   '2.05 own',      '2.05 own',  '2.05 generic',  '2.05 generic', '2.05 generic', '2.05 generic', '2.05 generic', '2.05 generic'],
};

const observations = () => metric(fx.t, 'doppel_coap_observations');
const level = Math.random();

function request(row: Row, id: string, token: string | null): Parameters<RawClient['request']>[0] {
  const query = token === null ? [] : [`token=${token}`];
  switch (row) {
    case 'get': return { path: `/t/${id}`, query };
    case 'desired': case 'delta': return { path: `/t/${id}/${row}`, query };
    case 'observeDesired': return { path: `/t/${id}/desired`, query, observe: 0 };
    case 'observeDelta': return { path: `/t/${id}/delta`, query, observe: 0 };
    case 'put': case 'post': return { method: row === 'put' ? 'PUT' : 'POST', path: `/t/${id}/reported`, query, format: 50, payload: JSON.stringify({ level }) };
    case 'wellKnown': return { path: '/.well-known/core', query };
  }
}

async function runCell(row: Row, cred: Cred, cell: string): Promise<void> {
  const { status, shape } = parseCell(cell);
  const id = fx.target(cred, `coap-${row}-${cred}`);
  await fx.twin(id);
  const token = await fx.token(cred, id, UNKNOWN_DEVICE);
  const before = await fx.state(id);
  const held = await observations();
  const res = await client.request(request(row, id, token));
  const text = res.payload.toString('utf8');
  expect(res.code, text).toBe(status);
  const allowed = status.startsWith('2.');
  if (!allowed) {
    expect(text).toMatch(status === '4.01' ? /^unauthorized: / : /^forbidden: /);
    expectNoTwinData(text, `${row} × ${cred}`);
  }
  if (!allowed || (row !== 'put' && row !== 'post')) expect(await fx.state(id), 'the twin is unchanged').toEqual(before);

  if (shape === 'view') {
    expect(Object.keys(json(res) as object).sort()).toEqual(['delta', 'desired', 'reported', 'version']);
    expect(text).not.toContain(TAG_MARK);
  } else if (shape === 'desired') {
    expect(json(res)).toEqual(before!.desired);
  } else if (shape === 'delta') {
    expect(json(res)).toEqual({ note: before!.desired.note, temp: 21 });
  } else if (status === '2.04') {
    expect(json(res)).toEqual({ version: 3, delta: expect.any(Object) });
    expect(await fx.state(id)).toMatchObject({ version: 3, reported: { level } });
  } else if (shape === 'generic') {
    expect(text).toBe('</t>;rt="doppel.twins";title="twins: GET /t/<id>?token=<device token>"');
  } else if (shape === 'own') {
    expect(text).toContain(`</t/${cred === 'device' ? id : 'o-other'}/desired>`);
    if (cred !== 'device') expect(text).not.toContain(id);
  }

  // Only the device's own requests are device contact; an API key or the admin reading or
  // writing over CoAP is not the device and must not make it look online.
  const contact = cred === 'device' && allowed && row !== 'wellKnown';
  expect((await fx.adminTwin(id)).connection, 'connection').toMatchObject(contact ? { online: true, via: 'coap' } : { online: false, lastSeenAt: null });

  if (row === 'observeDesired' || row === 'observeDelta') {
    expect(option(res, 'Observe') !== undefined, 'answered with an Observe option').toBe(allowed);
    expect(await observations()).toBe(held + (allowed ? 1 : 0));
    if (allowed) {
      await fx.t.call('PATCH', `/v1/twins/${id}`, { body: { desired: { level } } });
      const note = await client.next((p) => p.token.equals(res.token) && p.code === '2.05', 5000, 'a notification');
      expect(json(note)).toMatchObject({ level });
      client.reset(note);
      await eventually(async () => (await observations()) === held, 'the observation to end');
    }
  }
}

describe('CoAP: every resource × every credential', () => {
  for (const [row, cells] of Object.entries(TABLE) as Array<[Row, readonly string[]]>) {
    for (const [i, cred] of CREDS.entries()) {
      const cell = cells[i]!;
      it(`${row} × ${cred} → ${cell}`, () => runCell(row, cred, cell));
    }
  }
});

describe('CoAP: revoked credentials lose their observations at once', () => {
  const register = async (id: string, token: string) => {
    const res = await client.request({ path: `/t/${id}/desired`, query: [`token=${token}`], observe: 0 });
    expect(res.code).toBe('2.05');
    expect(option(res, 'Observe')).toBeDefined();
    return res;
  };
  const finalNotice = (reg: ParsedPacket) => client.next((p) => p.token.equals(reg.token) && p.code !== '2.05', 5000, 'the final notification');

  it('a rotated device token: a final 4.01 ends its observation; the admin\'s goes on', async () => {
    await fx.twin('a-coap-rotated');
    const device = await fx.issue('a-coap-rotated');
    const held = await observations();
    const mine = await register('a-coap-rotated', device);
    const admins = await register('a-coap-rotated', ADMIN);
    expect(await observations()).toBe(held + 2);

    await fx.issue('a-coap-rotated');
    const notice = await finalNotice(mine);
    expect(notice.code).toBe('4.01');
    expect(notice.payload.toString()).toMatch(/^unauthorized: /);
    if (notice.confirmable) client.ack(notice);
    await eventually(async () => (await observations()) === held + 1, 'the device observation to end');
    expect((await client.request({ path: '/t/a-coap-rotated', query: [`token=${device}`] })).code).toBe('4.01');

    await fx.t.call('PATCH', '/v1/twins/a-coap-rotated', { body: { desired: { level: 2 } } });
    const note = await client.next((p) => p.token.equals(admins.token) && p.code === '2.05', 5000, 'the admin notification');
    expect(json(note)).toMatchObject({ level: 2 });
    client.reset(note);
    await eventually(async () => (await observations()) === held, 'the admin observation to end');
    // (A retransmission of the final 4.01 would be harmless; a 2.05 would be a leak.)
    expect(client.received.filter((p) => p.token.equals(mine.token) && p.code === '2.05'), 'nothing more for the rotated token').toEqual([]);
  });

  it('a deleted API key: a final 4.01 ends its observation', async () => {
    await fx.twin('a-coap-revoked');
    const key = (await (await fx.t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } })).json()) as { id: string; token: string };
    const held = await observations();
    const reg = await register('a-coap-revoked', key.token);
    expect((await fx.t.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
    const notice = await finalNotice(reg);
    expect(notice.code).toBe('4.01');
    if (notice.confirmable) client.ack(notice);
    await eventually(async () => (await observations()) === held, 'the observation to end');
  });
});
