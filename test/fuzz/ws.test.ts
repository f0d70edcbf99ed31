/**
 * Fuzzes WebSocket frames over a real `ws` client, for app (admin) and device sessions: random JSON
 * shapes for every op (wrong types, junk refs, unknown and extra fields, hostile documents, huge
 * and deep values), unknown ops, non-JSON text, text that is not UTF-8, binary frames, and frames
 * just under and over `--max-body-bytes`.
 *
 * Invariants: every frame received is JSON with a known op; every request with a readable ref
 * gets a reply carrying it, an `error` having a contract code (never `internal`) and a message;
 * a frame without a readable ref gets a ref-less reply; the connection stays usable (a probe
 * `get` is answered after each batch); the victim twin changes only when an `ok` answered a
 * write; the only closes are the documented ones (1003 binary, 1009 too big, 1007 not UTF-8);
 * subscriptions are released when connections close; nothing is set on a prototype. FUZZ_RUNS
 * multiplies the runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { parseMessage } from '../../protocols/ws/messages.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { corpus, expectHealthy, expectNoPollution, HTTP_STATUS, params, timeout } from './support.ts';

const MAX_FRAME = 64 * 1024;
const REPLIES = new Set(['error', 'subscribed', 'unsubscribed', 'twin', 'ok']);
const PUSHED = new Set(['snapshot', 'change', 'deleted', 'delta']);
let t: TestServer;
let device: string;

beforeAll(async () => {
  t = await startTestServer(['--max-body-bytes', String(MAX_FRAME), '--device-rate', '1000000', '--device-burst', '1000000', '--ws-max-subscriptions', '50']);
  for (const id of ['victim', 'site-a:1', 'site-a:2']) expect((await t.call('POST', '/v1/twins', { body: { id, desired: { temp: 21 } } })).status).toBe(201);
  device = ((await (await t.call('POST', '/v1/twins/victim/token')).json()) as { token: string }).token;
});
afterAll(async () => { await t?.stop(); });

const version = async () => ((await (await t.call('GET', '/v1/twins/victim')).json()) as { version: number }).version;

const junk = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, '', 'victim', 'site-a:', 'nope', '__proto__', [], {}, ['victim'], ['victim', 'nope', '../x'], { victim: 1 }, { __proto__: 5 }, 'x'.repeat(2000)),
  fc.jsonValue({ maxDepth: 3 }),
);
const document = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom({ __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true}}') as unknown, { constructor: { prototype: { polluted: 1 } } }, { t: 'x'.repeat(40_000) }, { a: '\ud800' }),
  fc.nat({ max: 3000 }).map((n) => JSON.parse(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`) as unknown),
);
const field = (name: string, value: fc.Arbitrary<unknown>) => fc.option(value.map((v) => [name, v] as const), { nil: undefined, freq: 2 });

/** A request-ish object: a known or junk op, any mix of fields with any values. */
const message = fc.tuple(
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom('subscribe', 'unsubscribe', 'get', 'patch', 'report') }, { weight: 1, arbitrary: junk }),
  field('twins', fc.oneof(junk, fc.array(fc.constantFrom('victim', 'site-a:1', 'nope', '', 'bad id', 'x'.repeat(200)), { maxLength: 4 }))),
  field('prefix', fc.oneof(junk, fc.constantFrom('', 'site-a:', 'v'))), field('since', fc.oneof(junk, fc.dictionary(fc.constantFrom('victim', 'site-a:1', '__proto__'), fc.oneof(fc.integer(), junk)))),
  field('twin', fc.oneof(junk, fc.constantFrom('victim', 'site-a:2', 'nope'))), field('desired', document), field('tags', document), field('reported', document),
  field('ifVersion', fc.oneof(junk, fc.integer({ min: -1, max: 5 }))), field('clientToken', fc.oneof(junk, fc.string({ maxLength: 70 }))),
  field('extra', junk),
).map(([op, ...fields]) => Object.fromEntries([['op', op], ...fields.filter((f) => f !== undefined)]) as Record<string, unknown>);

const refOf = (ref: unknown) => (typeof ref === 'string' && ref.length <= 256) || (typeof ref === 'number' && Number.isFinite(ref));

/**
 * Sends `frames` (objects get a unique ref unless `keepRef`), then a probe; checks every frame
 * received and that every readable ref was answered. Returns the replies by ref.
 */
async function exchange(c: Client, frames: Array<{ text: string; ref: unknown; hasRef: boolean }>, label: string): Promise<{ byRef: Map<unknown, Msg[]>; got: Msg[] }> {
  const from = c.received.length;
  for (const f of frames) c.send(f.text);
  const probe = `probe-${label}`;
  c.send({ op: 'get', ref: probe, twin: 'victim' });
  const wanted = frames.filter((f) => f.hasRef).map((f) => f.ref);
  const byRef = new Map<unknown, Msg[]>();
  const index = () => {
    byRef.clear();
    for (const m of c.received.slice(from)) {
      if (!('ref' in m)) continue;
      const list = byRef.get(m.ref) ?? [];
      list.push(m);
      byRef.set(m.ref, list);
    }
  };
  const refless = () => c.received.slice(from).filter((m) => REPLIES.has(m.op) && !('ref' in m)).length;
  const owedRefless = frames.filter((f) => !f.hasRef).length;
  let closed = '';
  void c.closed.then(({ code, reason }) => { closed = ` (closed ${code} ${reason})`; });
  await c.waitFor(() => { index(); return byRef.has(probe) && wanted.every((r) => byRef.has(r)) && refless() >= owedRefless; }, `replies to ${label}`)
    .catch((err: unknown) => { throw new Error(`${(err as Error).message}${closed}`); });
  const got = c.received.slice(from);
  for (const m of got) {
    expect(REPLIES.has(m.op) || PUSHED.has(m.op), JSON.stringify(m).slice(0, 300)).toBe(true);
    if (PUSHED.has(m.op)) expect(m).not.toHaveProperty('ref');
    if (m.op === 'error') {
      expect(Object.keys(HTTP_STATUS), JSON.stringify(m)).toContain(m.code);
      expect(typeof m.message).toBe('string');
    }
  }
  expect(byRef.get(probe)![0]!.op).toBe('twin');
  for (const r of wanted) expect(REPLIES.has(byRef.get(r)![0]!.op)).toBe(true);
  expectNoPollution();
  return { byRef, got };
}

let refs = 0;
/** Gives an object a fresh string ref, unless it carries a junk one on purpose. */
function frame(m: Record<string, unknown>, junkRef: unknown): { text: string; ref: unknown; hasRef: boolean } {
  const ref = junkRef === undefined ? `r${++refs}` : junkRef;
  const text = JSON.stringify({ ...m, ...(ref === null ? {} : { ref }) });
  return { text, ref, hasRef: ref !== null && refOf(ref) };
}
const junkRef = fc.option(fc.oneof(fc.constant(null), fc.string({ minLength: 257, maxLength: 300 }), fc.constantFrom({}, [], true, 1e308, -0)), { nil: undefined, freq: 5 });

describe('parseMessage() as a pure function', () => {
  it('never throws, refuses only with invalid_request, and reads every readable ref', () => {
    const text = fc.oneof(fc.tuple(message, junkRef).map(([m, r]) => frame(m, r).text), fc.string({ maxLength: 40 }), fc.jsonValue().map((v) => JSON.stringify(v)));
    fc.assert(fc.property(text, (s) => {
      const parsed = parseMessage(s);
      if (!parsed.ok) expect(parsed.error.code).toBe('invalid_request');
      let value: unknown;
      try { value = JSON.parse(s); } catch { return; }
      const ref = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { ref?: unknown }).ref : undefined;
      expect(parsed.ref).toBe(refOf(ref) ? ref : undefined);
      expectNoPollution();
    }), params(0x3500, 1500));
  });
});

describe('WebSocket frames', () => {
  for (const kind of ['app', 'device'] as const) {
    it(`answers random ${kind} frames by ref on a connection that stays usable`, async () => {
      const c = await connect(t, kind === 'app' ? ADMIN : device);
      let run = 0;
      try {
        await fc.assert(fc.asyncProperty(fc.array(fc.tuple(message, junkRef), { minLength: 1, maxLength: 6 }), async (batch) => {
          const before = await version();
          // Frames over the limit close the connection (1009, tested below); here every frame fits.
          const frames = batch.map(([m, r]) => frame(m, r)).filter((f) => Buffer.byteLength(f.text) <= MAX_FRAME);
          const { byRef, got } = await exchange(c, frames, `${kind}-${++run}`);
          const wrote = got.some((m) => m.op === 'ok');
          if (!wrote) expect(await version(), 'victim changed without an ok').toBe(before);
          if (kind === 'device') for (const f of frames) for (const m of byRef.get(f.ref) ?? []) expect(['error', 'ok', 'twin']).toContain(m.op);
          expect(c.ws.readyState, 'connection still open').toBe(c.ws.OPEN);
        }), params(kind === 'app' ? 0x3501 : 0x3502, 60));
      } finally {
        c.close();
      }
    }, timeout(60_000));
  }

  it('answers non-JSON, non-object and unknown-op text with invalid_request and stays open', async () => {
    const c = await connect(t);
    const text = fc.oneof(
      fc.string({ maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 50 }),
      fc.constantFrom('', ' ', 'null', '[]', '"op"', '1e400', '{', '{"op":"get"', '{"op":"nope","ref":"x"}', '{"op":null}', '{"ref":"x"}', '{"op":"get","ref":{"a":1}}', '{"op":"__proto__"}', '{"op":"constructor","ref":1}', '{"op":"toString"}'),
      fc.nat({ max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    let run = 0;
    try {
      await fc.assert(fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 5 }), async (texts) => {
        const frames = texts.map((s) => {
          let ref: unknown = null;
          try { const v = JSON.parse(s) as { ref?: unknown }; if (typeof v === 'object' && v !== null && !Array.isArray(v)) ref = v.ref ?? null; } catch { /* not JSON */ }
          return { text: s, ref, hasRef: refOf(ref) };
        });
        await exchange(c, frames, `text-${++run}`);
      }), params(0x3503, 60));
    } finally {
      c.close();
    }
  }, timeout(60_000));

  it('closes with 1009 only over the frame limit, 1003 for binary, 1007 for text that is not UTF-8', async () => {
    const size = fc.oneof(fc.integer({ min: MAX_FRAME - 64, max: MAX_FRAME + 64 }), fc.integer({ min: 1, max: 3 * MAX_FRAME }));
    await fc.assert(fc.asyncProperty(fc.constantFrom('text', 'binary', 'bad-utf8'), size, async (kind, n) => {
      const c = await connect(t);
      try {
        const body = `{"op":"get","twin":"victim","ref":"${'x'.repeat(Math.max(0, n - 40))}"}`;
        if (kind === 'text') c.ws.send(body);
        else if (kind === 'binary') c.ws.send(Buffer.from(body), { binary: true });
        else c.ws.send(Buffer.concat([Buffer.from('{"op":"get","ref":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), { binary: false });
        const bytes = kind === 'bad-utf8' ? 24 : Buffer.byteLength(body);
        if (bytes > MAX_FRAME) expect((await c.closed).code).toBe(1009);
        else if (kind === 'binary') expect((await c.closed).code).toBe(1003);
        else if (kind === 'bad-utf8') expect((await c.closed).code).toBe(1007);
        else expect((await c.next((m) => m.op === 'error' || m.op === 'twin')).op).toBe(n - 40 > 256 ? 'error' : 'twin');
      } finally {
        c.close();
      }
    }), params(0x3504, 24));
    await expectHealthy(t);
  }, timeout(60_000));

  describe('corpus', () => {
    for (const entry of corpus('ws')) {
      it(`${entry.name}: ${entry.about}`, async () => {
        const c = await connect(t, entry.session === 'device' ? device : ADMIN);
        try {
          const before = await version();
          if (typeof entry.base64 === 'string') c.ws.send(Buffer.from(entry.base64, 'base64'), { binary: entry.binary === true });
          else c.send(entry.frame as string);
          const expected = entry.expect as { op?: string; code?: string; close?: number };
          if (expected.close !== undefined) expect((await c.closed).code).toBe(expected.close);
          else {
            const m = await c.next((x) => REPLIES.has(x.op));
            expect(m).toMatchObject(expected);
            await exchange(c, [], entry.name);
          }
          expect(await version()).toBe(before);
        } finally {
          c.close();
        }
      });
    }
  });

  it('releases every subscription with its connection, and stays healthy and unpolluted', async () => {
    await eventually(async () => ((await metric(t, 'doppel_ws_subscriptions')) === 0 ? true : undefined), 'subscriptions to be released');
    await eventually(async () => ((await metric(t, 'doppel_ws_connections{kind="app"}')) === 0 ? true : undefined), 'app connections to close');
    await expectHealthy(t);
    expectNoPollution();
  });
});
