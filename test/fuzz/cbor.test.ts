/**
 * Fuzzes the strict CBOR decoder of the CoAP edge (`protocols/coap/cbor.ts`), as a pure function
 * and over the wire: every encoding of a JSON value (any argument width, indefinite lengths,
 * chunked text, floats of any exact width, duplicate and `__proto__` keys), mutations of them,
 * random bytes, absurd declared lengths, deep nesting, tags, simple values, every half float.
 *
 * Invariants: a valid encoding decodes to exactly its value (duplicates: last wins); anything
 * else either decodes to plain JSON data or throws a DoppelError `invalid_request`,
 * `invalid_document` or `too_deep`, never another error (no RangeError from the stack, no
 * allocation from a declared length); nothing is ever set on a prototype; over CoAP a refusal is
 * the code's 4.xx with its diagnostic and leaves the twin unchanged. FUZZ_RUNS multiplies the runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../protocols/coap/cbor.ts';
import { ERROR_CODES, isDoppelError } from '../../src/errors.ts';
import { createTwin, startCoapServer } from '../coap/helpers.ts';
import type { TestServer } from '../support/server.ts';
import { encoded, mutate, notJson } from './cbor-gen.ts';
import { Endpoint } from './coap-oracle.ts';
import { encode, freshMid, OPT, uintBytes } from './coap-wire.ts';
import { corpus, expectNoPollution, fromBase64, params } from './support.ts';

const REFUSALS = ['invalid_request', 'invalid_document', 'too_deep'];

/** Decodes, or returns the refusal's code; any other throw fails the test. */
function attempt(bytes: Uint8Array): { value: unknown } | { code: string } {
  try {
    return { value: decodeCbor(bytes) };
  } catch (err) {
    expect(isDoppelError(err), `${Buffer.from(bytes).toString('hex')} threw ${String(err)}`).toBe(true);
    const code = (err as { code: string }).code;
    expect(REFUSALS).toContain(code);
    return { code };
  }
}

/** Anything the decoder makes of `bytes` is a refusal or plain JSON data. */
function holds(bytes: Uint8Array): void {
  const out = attempt(bytes);
  if ('value' in out) expect(notJson(out.value), Buffer.from(bytes).toString('hex')).toBeNull();
  expectNoPollution();
}

const hex = (h: string) => Buffer.from(h, 'hex');

describe('decodeCbor() as a pure function', () => {
  it('decodes every valid encoding of a JSON value to exactly that value', () => {
    fc.assert(fc.property(encoded, ({ value, bytes }) => {
      expect(decodeCbor(Uint8Array.from(bytes))).toEqual(value);
    }), params(0xcb01, 1500));
  });

  it('refuses or returns plain JSON for mutated encodings and random bytes', () => {
    const mutated = encoded.chain(({ bytes }) => mutate(bytes)).map((b) => Uint8Array.from(b));
    fc.assert(fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 64 })), holds), params(0xcb02, 2000));
  });

  it('refuses absurd declared lengths without allocating them', () => {
    const width = fc.constantFrom<[number, number]>([26, 4], [27, 8]);
    fc.assert(fc.property(fc.constantFrom(2, 3, 4, 5), width, fc.bigInt({ min: 1n << 16n, max: (1n << 64n) - 1n }), (major, [info, size], n) => {
      const arg = n & ((1n << BigInt(8 * size)) - 1n);
      const bytes = [(major << 5) | info, ...Array.from({ length: size }, (_, i) => Number((arg >> BigInt(8 * (size - 1 - i))) & 0xffn)), 0x01];
      const out = attempt(Uint8Array.from(bytes));
      expect('code' in out).toBe(true);
    }), params(0xcb03, 300));
  });

  it('decodes nesting up to 64 levels and refuses deeper with too_deep, never overflowing the stack', () => {
    const opener = fc.constantFrom('81', '9f', 'a16161', 'bf6161');
    fc.assert(fc.property(fc.array(opener, { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 20_000 }), (levels, extra) => {
      const all = [...levels, ...Array.from({ length: extra }, () => levels[0]!)];
      const closers = all.filter((o) => o === '9f' || o === 'bf6161').map(() => 'ff').join('');
      const out = attempt(hex(`${all.join('')}01${closers}`));
      if (all.length <= 64) expect(out).toHaveProperty('value');
      else expect(out).toEqual({ code: 'too_deep' });
    }), params(0xcb04, 200));
  });

  it('refuses tags, undefined, simple values and non-text keys as invalid_document', () => {
    const item = encoded.map(({ bytes }) => Buffer.from(bytes).toString('hex'));
    const refused = fc.oneof(
      fc.tuple(fc.integer({ min: 0xc0, max: 0xdb }), item).map(([tag, i]) => `${tag.toString(16)}${tag >= 0xd8 ? '00'.repeat(1 << (tag - 0xd8)) : ''}${i}`),
      fc.integer({ min: 0xe0, max: 0xf3 }).map((s) => s.toString(16)), fc.constant('f7'),
      fc.integer({ min: 0, max: 255 }).map((s) => `f8${s.toString(16).padStart(2, '0')}`),
      fc.tuple(fc.constantFrom('01', '20', '80', 'a0', 'f5', 'f6', 'fb3ff0000000000000', '4161'), item).map(([k, v]) => `a1${k}${v}`),
    );
    fc.assert(fc.property(refused, (h) => {
      expect(attempt(hex(h)), h).toEqual({ code: 'invalid_document' });
    }), params(0xcb05, 500));
  });

  it('decodes every half float like an independent float16 → float32 conversion, refusing NaN and infinities', () => {
    const view = new DataView(new ArrayBuffer(4));
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >> 10) & 31;
      const out = attempt(Uint8Array.of(0xf9, h >> 8, h & 0xff));
      if (exp === 31) { expect(out, h.toString(16)).toEqual({ code: 'invalid_document' }); continue; }
      let e = exp;
      let mant = h & 0x3ff;
      const zero = e === 0 && mant === 0;
      // A subnormal half is a normal float32: shift the mantissa up to its implicit bit.
      if (e === 0 && mant !== 0) { e = 1; while ((mant & 0x400) === 0) { mant <<= 1; e--; } mant &= 0x3ff; }
      const e32 = zero ? 0 : e - 15 + 127;
      view.setUint32(0, ((h & 0x8000) << 16) | (e32 << 23) | (mant << 13));
      expect(out, h.toString(16)).toEqual({ value: view.getFloat32(0) });
    }
  });

  it('decodes any float32 or float64 bit pattern to its value, or refuses a non-finite one', () => {
    fc.assert(fc.property(fc.boolean(), fc.uint8Array({ minLength: 8, maxLength: 8 }), (wide, bits) => {
      const body = wide ? bits : bits.subarray(0, 4);
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      const n = wide ? view.getFloat64(0) : view.getFloat32(0);
      const out = attempt(Uint8Array.of(wide ? 0xfb : 0xfa, ...body));
      expect(out).toEqual(Number.isFinite(n) ? { value: n } : { code: 'invalid_document' });
    }), params(0xcb06, 1000));
  });

  describe('corpus', () => {
    for (const entry of corpus('cbor')) {
      it(`${entry.name}: ${entry.about}`, () => {
        const out = attempt(fromBase64(entry.bytes as string));
        if (typeof entry.code === 'string') expect(out).toEqual({ code: entry.code });
        else expect(out).toEqual({ value: entry.value });
        expectNoPollution();
      });
    }
  });
});

describe('CBOR over CoAP', () => {
  let t: TestServer & { port: number };
  let token: string;
  beforeAll(async () => {
    t = await startCoapServer(['--device-rate', '1000000', '--device-burst', '1000000']);
    token = await createTwin(t, 'cbor-victim', { temp: 21 });
  });
  afterAll(async () => { await t?.stop(); });

  const version = async () => ((await (await t.call('GET', '/v1/twins/cbor-victim')).json()) as { version: number }).version;

  /** PUTs `payload` as CBOR; a refusal by the decoder is its code's CoAP code and changes nothing. */
  async function report(payload: Uint8Array): Promise<void> {
    const before = await version();
    const ep = await Endpoint.open(t.port);
    try {
      const path = ['t', 'cbor-victim', 'reported'].map((s) => ({ number: OPT.uriPath, value: Buffer.from(s) }));
      const datagram = encode({
        type: 0, code: 3, mid: freshMid(), token: Uint8Array.of(0xcb, 0x0e), payload,
        options: [...path, { number: OPT.uriQuery, value: Buffer.from(`token=${token}`) }, { number: OPT.contentFormat, value: uintBytes(60) }],
      });
      const [out] = await ep.exchange([datagram]);
      const res = out!.answers[0]!;
      const code = `${res.code >> 5}.${String(res.code & 31).padStart(2, '0')}`;
      const local = payload.length === 0 ? { code: 'invalid_request' } : attempt(payload);
      if ('code' in local) {
        expect(code).toBe(ERROR_CODES[local.code as keyof typeof ERROR_CODES].coap);
        expect(Buffer.from(res.payload).toString('utf8')).toMatch(new RegExp(`^${local.code}: `));
      } else {
        expect(['2.04', '4.00', '4.13']).toContain(code);
      }
      if (code !== '2.04') expect(await version()).toBe(before);
    } finally {
      await ep.close();
    }
  }

  it('answers mutated CBOR reports with the decoder\'s code and changes nothing on a refusal', async () => {
    const payload = fc.oneof(encoded.map(({ bytes }) => bytes), encoded.chain(({ bytes }) => mutate(bytes))).map((b) => Uint8Array.from(b));
    await fc.assert(fc.asyncProperty(payload, report), params(0xcb07, 60));
    expectNoPollution();
  });

  it('replays the corpus over the wire', async () => {
    for (const entry of corpus('cbor')) {
      const bytes = fromBase64(entry.bytes as string);
      if (bytes.length < 60_000) await report(bytes);
    }
  });
});
