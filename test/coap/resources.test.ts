import { encode as cborEncode, decode as cborDecode } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, json, option, RawClient, readUint, startCoapServer, uint } from './helpers.ts';

let t: TestServer & { port: number };
let client: RawClient;
let token: string;
let other: string;

beforeAll(async () => {
  t = await startCoapServer();
  client = await RawClient.open(t.port);
  token = await createTwin(t, 'thermo-1', { temp: 21, mode: 'eco' });
  other = await createTwin(t, 'thermo-2', { temp: 18 });
  await t.call('PATCH', '/v1/twins/thermo-1', { body: { tags: { site: 'berlin' } } });
});
afterAll(async () => {
  await client?.close();
  await t?.stop();
});

const q = (tok: string = token) => [`token=${tok}`];

describe('CoAP GET /t/{id}', () => {
  it('answers the device view in JSON without Accept, never tags or metadata', async () => {
    const res = await client.request({ path: '/t/thermo-1', query: q() });
    expect(res.code).toBe('2.05');
    expect(readUint(option(res, 'Content-Format'))).toBe(50);
    expect(json(res)).toEqual({ version: 2, desired: { temp: 21, mode: 'eco' }, reported: {}, delta: { temp: 21, mode: 'eco' } });
  });

  it('answers CBOR as a plain RFC 8949 map when Accept is 60', async () => {
    const res = await client.request({ path: '/t/thermo-1/desired', query: q(), accept: 60 });
    expect(res.code).toBe('2.05');
    expect(readUint(option(res, 'Content-Format'))).toBe(60);
    // 0xa2: a map of two pairs, no tags, no records.
    expect(res.payload[0]).toBe(0xa2);
    expect(cborDecode(res.payload)).toEqual({ temp: 21, mode: 'eco' });
  });

  it('serves /delta and marks the device seen via coap', async () => {
    const res = await client.request({ path: '/t/thermo-1/delta', query: q() });
    expect(json(res)).toEqual({ temp: 21, mode: 'eco' });
    const twin = (await (await t.call('GET', '/v1/twins/thermo-1')).json()) as { connection: unknown };
    expect(twin.connection).toMatchObject({ online: true, via: 'coap' });
  });

  it('refuses a missing or unknown token with 4.01 and another twin\'s token with 4.03', async () => {
    const none = await client.request({ path: '/t/thermo-1' });
    expect(none.code).toBe('4.01');
    expect(none.payload.toString()).toMatch(/^unauthorized: /);
    expect((await client.request({ path: '/t/thermo-1', query: ['token=dpd_nope.nope'] })).code).toBe('4.01');
    const forbidden = await client.request({ path: '/t/thermo-1', query: q(other) });
    expect(forbidden.code).toBe('4.03');
    expect(forbidden.payload.toString()).toMatch(/^forbidden: /);
  });

  it('answers 4.04 for a missing twin or resource and 4.05 for a wrong method', async () => {
    expect((await client.request({ path: '/t/nope', query: [`token=${ADMIN}`] })).code).toBe('4.04');
    expect((await client.request({ path: '/x', query: q() })).code).toBe('4.04');
    expect((await client.request({ path: '/t/thermo-1/tags', query: q() })).code).toBe('4.04');
    expect((await client.request({ method: 'DELETE', path: '/t/thermo-1', query: q() })).code).toBe('4.05');
    expect((await client.request({ method: 'GET', path: '/t/thermo-1/reported', query: q() })).code).toBe('4.05');
  });

  it('answers 4.06 for an Accept it cannot serve', async () => {
    expect((await client.request({ path: '/t/thermo-1', query: q(), accept: 0 })).code).toBe('4.06');
  });
});

describe('CoAP PUT/POST /t/{id}/reported', () => {
  it('merges reported and answers 2.04 with {version, delta} in the request format', async () => {
    const res = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 50, payload: JSON.stringify({ temp: 21, fw: '1.0' }) });
    expect(res.code).toBe('2.04');
    expect(readUint(option(res, 'Content-Format'))).toBe(50);
    expect(json(res)).toEqual({ version: 3, delta: { mode: 'eco' } });
    const cbor = await client.request({ method: 'POST', path: '/t/thermo-1/reported', query: q(), format: 60, payload: Buffer.from(cborEncode({ mode: 'eco' })) });
    expect(cbor.code).toBe('2.04');
    expect(readUint(option(cbor, 'Content-Format'))).toBe(60);
    expect(cborDecode(cbor.payload)).toEqual({ version: 4, delta: {} });
    const twin = (await (await t.call('GET', '/v1/twins/thermo-1')).json()) as { reported: unknown; connection: unknown };
    expect(twin.reported).toEqual({ temp: 21, fw: '1.0', mode: 'eco' });
  });

  it('honours Accept over the request format', async () => {
    const res = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 60, accept: 50, payload: Buffer.from(cborEncode({ fw: '1.0' })) });
    expect(res.code).toBe('2.04');
    expect(json(res)).toEqual({ version: 4, delta: {} });
  });

  it('checks If-Match as an unsigned version: 4.12 on mismatch, nothing changes', async () => {
    const bad = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), ifMatch: uint(1), payload: '{"x":1}' });
    expect(bad.code).toBe('4.12');
    expect(bad.payload.toString()).toMatch(/^version_conflict: /);
    const good = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), ifMatch: uint(4), payload: '{"x":1}' });
    expect(good.code).toBe('2.04');
    expect(json(good)).toMatchObject({ version: 5 });
  });

  it('refuses another twin\'s token (4.03) and an unsupported Content-Format (4.15)', async () => {
    expect((await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(other), payload: '{"a":1}' })).code).toBe('4.03');
    expect((await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 0, payload: 'a=1' })).code).toBe('4.15');
  });

  it('refuses bad JSON and bad CBOR with 4.00 and a diagnostic', async () => {
    const badJson = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 50, payload: '{"a":' });
    expect(badJson.code).toBe('4.00');
    expect(badJson.payload.toString()).toMatch(/^invalid_request: Malformed JSON/);
    const cases: Array<[string, Buffer]> = [
      ['a tag', Buffer.from('a161610c1a00000001'.replace('0c', 'c1'), 'hex')], // {"a": 1(1)}
      ['a byte string', Buffer.from('a1616142abcd', 'hex')],
      ['undefined', Buffer.from('a16161f7', 'hex')],
      ['a non-string key', Buffer.from('a10101', 'hex')],
      ['trailing bytes', Buffer.from('a1616101ff', 'hex')],
      ['truncated', Buffer.from('a16161', 'hex')],
      ['NaN', Buffer.from('a16161f97e00', 'hex')],
    ];
    for (const [what, payload] of cases) {
      const res = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 60, payload });
      expect(res.code, what).toBe('4.00');
    }
  });

  it('never lets a CBOR __proto__ key set a prototype: the core refuses it', async () => {
    // {"__proto__": {"polluted": true}}
    const payload = Buffer.concat([Buffer.from([0xa1, 0x69]), Buffer.from('__proto__'), Buffer.from([0xa1, 0x68]), Buffer.from('polluted'), Buffer.from([0xf5])]);
    const res = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), format: 60, payload });
    expect(res.code).toBe('4.00');
    expect(res.payload.toString()).toMatch(/^invalid_document: /);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 4.13 for a document over the limit', async () => {
    const res = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), payload: JSON.stringify({ big: 'x'.repeat(900) }) }, 5000);
    expect(res.code).toBe('2.04'); // under the 32 KiB default: accepted
    const deep = await client.request({ method: 'PUT', path: '/t/thermo-1/reported', query: q(), payload: JSON.stringify({ a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } }) });
    expect(deep.code).toBe('4.13');
  });
});

describe('CoAP /.well-known/core', () => {
  it('lists the device\'s resources in link format with rt, ct and obs', async () => {
    const res = await client.request({ path: '/.well-known/core', query: q() });
    expect(res.code).toBe('2.05');
    expect(readUint(option(res, 'Content-Format'))).toBe(40);
    const text = res.payload.toString();
    expect(text).toContain('</t/thermo-1/desired>;rt="doppel.desired";ct="50 60";obs');
    expect(text).toContain('</t/thermo-1/delta>;rt="doppel.delta";ct="50 60";obs');
    expect(text).toContain('</t/thermo-1/reported>;rt="doppel.reported"');
  });
});
