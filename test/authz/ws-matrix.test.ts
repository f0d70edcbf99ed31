/**
 * The WebSocket authorization matrix: the handshake (Authorization header and ?access_token=) ×
 * every credential kind, then every op × every credential that opens a session. A cell asserts the
 * reply (`error` code or the op's answer and its shape), that a refusal leaks no twin data, that a
 * refused write changed nothing, and that a refused subscribe subscribed nothing. Outcomes come
 * from CONTRACT §7 and the README's WebSocket tables, written out, not computed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, handshake, isSnapshotOf, wsUrl } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { CREDS, TAG_MARK, VALID, expectNoTwinData, parseCell, setupFixture } from './fixtures.ts';
import type { Cred, Fixture } from './fixtures.ts';

let fx: Fixture;
beforeAll(async () => { fx = await setupFixture(); });
afterAll(async () => { await fx?.stop(); });

const HANDSHAKE: Record<'header' | 'query', readonly number[]> = {
  //       none unknown malformed device otherDevice read write prefixA prefixB keysAdmin admin
  header: [401, 401,    401,      101,   101,        101, 101,  101,    101,    101,      101],
  query:  [401, 401,    401,      101,   101,        101, 101,  101,    101,    101,      101],
};

describe('WebSocket: the handshake × every credential', () => {
  for (const [where, cells] of Object.entries(HANDSHAKE) as Array<['header' | 'query', readonly number[]]>) {
    for (const [i, cred] of CREDS.entries()) {
      it(`${where} × ${cred} → ${cells[i]}`, async () => {
        const id = fx.target(cred, `hs-${where}-${cred}`);
        await fx.twin(id);
        const token = await fx.token(cred, id);
        const res = token === null ? await handshake(wsUrl(fx.t))
          : where === 'header' ? await handshake(wsUrl(fx.t), { authorization: `Bearer ${token}` })
            : await handshake(wsUrl(fx.t, `?access_token=${encodeURIComponent(token)}`));
        expect(res.status, res.body).toBe(cells[i]);
        if (res.status === 401) {
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(JSON.parse(res.body)).toMatchObject({ code: 'unauthorized' });
          expectNoTwinData(res.body, `handshake ${where} × ${cred}`);
        }
      });
    }
  }
});

type Op = 'subscribeTwins' | 'subscribePrefix' | 'unsubscribe' | 'get' | 'patchDesired' | 'patchTags' | 'report';

// A cell: `forbidden` (an error reply), or the reply op with what it must hold:
//   subscribed: a snapshot of the twin (tags included), then its changes; a-only: and never a "b-" twin;
//   twin full: the public twin; twin device: {version, desired, reported, delta}; ok: only the new version.
const OPS: Record<Op, readonly string[]> = {
  //                device          otherDevice  read              write        prefixA              prefixB      keysAdmin    admin
  subscribeTwins:  ['forbidden',    'forbidden', 'subscribed',     'forbidden', 'subscribed',        'forbidden', 'forbidden', 'subscribed'],
  subscribePrefix: ['forbidden',    'forbidden', 'subscribed',     'forbidden', 'subscribed a-only', 'forbidden', 'forbidden', 'subscribed'],
  unsubscribe:     ['forbidden',    'forbidden', 'unsubscribed',   'unsubscribed', 'unsubscribed',   'unsubscribed', 'unsubscribed', 'unsubscribed'],
  get:             ['twin device',  'forbidden', 'twin full',      'forbidden', 'twin full',         'forbidden', 'forbidden', 'twin full'],
  patchDesired:    ['forbidden',    'forbidden', 'forbidden',      'ok',        'ok',                'forbidden', 'forbidden', 'ok'],
  patchTags:       ['forbidden',    'forbidden', 'forbidden',      'ok',        'ok',                'forbidden', 'forbidden', 'ok'],
  report:          ['ok delta',     'forbidden', 'forbidden',      'forbidden', 'forbidden',         'forbidden', 'forbidden', 'ok delta'],
};

const level = Math.random();
/** The request of an op on twin `id`; prefix subscriptions ask the twin's id (narrow), the prefix key "" or "b-". */
function message(op: Op, id: string, cred: Cred): Record<string, unknown> {
  switch (op) {
    case 'subscribeTwins': return { op: 'subscribe', twins: [id] };
    case 'subscribePrefix': return { op: 'subscribe', prefix: cred === 'prefixA' ? '' : cred === 'prefixB' ? 'b-' : id };
    case 'unsubscribe': return { op: 'unsubscribe', twins: [id] };
    case 'get': return { op: 'get', twin: id };
    case 'patchDesired': return { op: 'patch', twin: id, desired: { level } };
    case 'patchTags': return { op: 'patch', twin: id, tags: { level } };
    case 'report': return { op: 'report', twin: id, reported: { level } };
  }
}

const TWIN_FIELDS = ['connection', 'createdAt', 'delta', 'desired', 'id', 'metadata', 'reported', 'sync', 'tags', 'updatedAt', 'version'];
const about = (id: string) => (m: Msg) => (m.op === 'snapshot' && (m.twin as { id: string }).id === id) || (m.op === 'change' && (m.event as { twin: string }).twin === id);
let late = 0;

describe('WebSocket: every op × every credential', () => {
  for (const [op, cells] of Object.entries(OPS) as Array<[Op, readonly string[]]>) {
    for (const [i, cred] of VALID.entries()) {
      const cell = cells[i]!;
      it(`${op} × ${cred} → ${cell}`, async () => {
        const id = fx.target(cred, `${op}-${cred}`);
        await fx.twin(id);
        const c: Client = await connect(fx.t, (await fx.token(cred, id))!);
        try {
          const before = await fx.state(id);
          const reply = await c.request(message(op, id, cred));
          const text = JSON.stringify(reply);
          const { status: expected, shape } = parseCell(cell);
          if (expected === 'forbidden') {
            expect(reply).toMatchObject({ op: 'error', code: 'forbidden' });
            expectNoTwinData(text, `${op} × ${cred}`);
            expect(await fx.state(id), 'a refused request changes nothing').toEqual(before);
            // Nothing was subscribed: a change now reaches this connection ahead of the barrier's reply, or never.
            await fx.t.call('PATCH', `/v1/twins/${id}`, { body: { desired: { after: true } } });
            await c.request({ op: 'get', twin: 'o-other' });
            expect(c.received.filter(about(id)), 'frames about the twin').toEqual([]);
            return;
          }
          expect(reply.op).toBe(expected);
          if (expected === 'subscribed') {
            const snapshot = await c.next(isSnapshotOf(id));
            expect(JSON.stringify(snapshot)).toContain(TAG_MARK);
            await fx.t.call('PATCH', `/v1/twins/${id}`, { body: { desired: { after: true } } });
            expect(await c.next(about(id))).toMatchObject({ op: 'change', event: { twin: id, version: 3 } });
            if (shape === 'a-only') {
              // Twins created later under "b-", then "a-": the "a-" one arrives, the "b-" one never did.
              const n = ++late;
              await fx.twin(`b-late-${n}`);
              await fx.twin(`a-late-${n}`);
              await c.next(isSnapshotOf(`a-late-${n}`));
              for (const m of c.received) if (m.op === 'snapshot') expect((m.twin as { id: string }).id.startsWith('a-')).toBe(true);
            }
          } else if (expected === 'twin') {
            const twin = reply.twin as Record<string, unknown>;
            if (shape === 'device') {
              expect(Object.keys(twin).sort()).toEqual(['delta', 'desired', 'reported', 'version']);
              expect(text).not.toContain(TAG_MARK);
            } else {
              expect(Object.keys(twin).sort()).toEqual(TWIN_FIELDS);
              expect(text).toContain(TAG_MARK);
            }
          } else if (expected === 'ok') {
            const state = await fx.state(id);
            expect(state?.version).toBe(3);
            if (op === 'report') {
              expect(reply).toEqual({ op: 'ok', ref: reply.ref, version: 3, delta: expect.any(Object) });
              expect(state?.reported).toMatchObject({ level });
            } else {
              // A write-only key learns nothing of the twin from its write's reply.
              expect(reply).toEqual({ op: 'ok', ref: reply.ref, version: 3 });
              expect(op === 'patchTags' ? state?.tags : state?.desired).toMatchObject({ level });
            }
          } else {
            expect(reply).toEqual({ op: 'unsubscribed', ref: reply.ref });
          }
        } finally {
          c.close();
        }
      });
    }
  }
});
