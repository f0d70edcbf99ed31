/**
 * Datagram generators for the CoAP fuzz suite, from pure noise to requests a real device could
 * send with one thing wrong. `requests(token)` aims most of its requests at the victim twin with
 * its real device token, so the resources, not only the parser, see hostile input.
 */
import fc from 'fast-check';
import { encode, OPT, rawOptionBytes, uintBytes } from './coap-wire.ts';
import type { Message, WireOption } from './coap-wire.ts';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const opt = (number: number, value: Uint8Array): WireOption => ({ number, value });

/** Any bytes, with a CoAP-like first byte half of the time (version 1, so the parser looks further). */
export const noise: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  fc.tuple(fc.integer({ min: 0x40, max: 0x7f }), fc.uint8Array({ minLength: 3, maxLength: 48 })).map(([b, rest]) => Uint8Array.of(b, ...rest)),
).map((b) => Buffer.from(b));

/**
 * A header (any type, token length 0–15, any code) over a token and options that may lie about
 * their deltas and lengths, then maybe a payload marker with or without a payload.
 */
export const structured: fc.Arbitrary<Buffer> = fc.tuple(
  fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 15 }),
  fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 31, 0x20, 0x41, 0x44, 0x45, 0x84, 0xa0, 0xe0, 0xff), fc.integer({ min: 0, max: 255 })),
  fc.uint8Array({ maxLength: 8 }),
  fc.array(rawOptionBytes, { maxLength: 4 }),
  fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
).map(([type, tkl, code, token, options, payload]) => {
  const bytes = [0x40 | (type << 4) | tkl, code, 0, 0, ...token.subarray(0, tkl), ...options.flat()];
  if (payload !== undefined) bytes.push(0xff, ...payload);
  return Buffer.from(bytes);
});

export const blockValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.record({ num: fc.integer({ min: 0, max: (1 << 20) - 1 }), more: fc.boolean(), szx: fc.integer({ min: 0, max: 7 }) })
    .map(({ num, more, szx }) => uintBytes(num * 16 + (more ? 8 : 0) + szx)),
  fc.uint8Array({ maxLength: 5 }),
);

/** Bodies: malformed and hostile JSON and CBOR, and some valid patches. */
export const payloads: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array()),
  fc.constantFrom('{', '{"a":1', '[]', 'null', '1e400', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}',
    '{"a":"\\ud800"}', '\ufeff{}', '{"a":1,"a":2}', `${'['.repeat(200)}${']'.repeat(200)}`, '{}').map(text),
  fc.dictionary(fc.constantFrom('temp', 'mode', 'fw', 'a'), fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)), { maxKeys: 3 })
    .map((d) => text(JSON.stringify(d))),
  fc.uint8Array({ maxLength: 24 }),
  fc.constantFrom('a0', 'a1617801', 'bb0000000100000000', '9f', 'bf617801ff', 'a1695f5f70726f746f5f5fa1617801', 'f7', 'f97e00', 'c074323032302d30312d30315430303a30303a30305a', 'a1016178')
    .map((h) => Uint8Array.from(Buffer.from(h, 'hex'))),
);

/** Requests with real structure; most aim at the victim with its token. */
export function requests(token: string): fc.Arbitrary<Message> {
  const segment = fc.oneof(fc.constantFrom('t', 'victim', 'desired', 'delta', 'reported', '.well-known', 'core', '', '..'), fc.string({ maxLength: 6 }));
  const known: string[][] = [['t', 'victim'], ['t', 'victim', 'desired'], ['t', 'victim', 'delta'], ['t', 'victim', 'reported'], ['.well-known', 'core']];
  const path: fc.Arbitrary<string[]> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.array(segment, { maxLength: 4 }) },
  );
  const query = fc.oneof(
    { weight: 4, arbitrary: fc.constant(`token=${token}`) },
    { weight: 1, arbitrary: fc.constantFrom('token=', 'token=garbage', 'token=dpd_x.y', `token=${token}x`, `token=${token.slice(0, -1)}`, `TOKEN=${token}`, 'token') },
    { weight: 1, arbitrary: fc.string({ maxLength: 24 }).map((s) => `token=${s}`) },
  );
  const uintOrJunk = (...known: number[]) => fc.oneof(fc.constantFrom(...known).map(uintBytes), fc.uint8Array({ maxLength: 8 }));
  const extra = fc.record({
    number: fc.oneof(fc.constantFrom(3, 4, 5, 7, 8, 9, 14, 16, 19, 20, 28, 31, 35, 39, 60, 258, 292, 2048, 2049, 65_000), fc.integer({ min: 0, max: 65_535 })),
    value: fc.uint8Array({ maxLength: 12 }),
  }).map(({ number, value }) => opt(number, value));
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
  return fc.record({
    type: fc.constantFrom(0, 0, 0, 1),
    code: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(1, 1, 1, 1, 3, 3, 3, 2, 4) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 31 }) }),
    token: fc.uint8Array({ maxLength: 8 }),
    path, queries: fc.array(query, { maxLength: 2 }),
    format: maybe(uintOrJunk(50, 60, 0, 40, 41)), accept: maybe(uintOrJunk(50, 60, 40, 0)),
    observe: maybe(fc.oneof(uintOrJunk(0, 1, 2, 0xffffff))), block1: maybe(blockValue), block2: maybe(blockValue),
    ifMatch: fc.array(uintOrJunk(1, 2, 0), { maxLength: 2 }), extras: fc.array(extra, { maxLength: 3 }),
    payload: payloads,
  }).map((r): Message => ({
    type: r.type, code: r.code, mid: 0, token: r.token, payload: r.payload,
    options: [
      ...r.path.map((s) => opt(OPT.uriPath, text(s))), ...r.queries.map((q) => opt(OPT.uriQuery, text(q))),
      ...(r.format === undefined ? [] : [opt(OPT.contentFormat, r.format)]), ...(r.accept === undefined ? [] : [opt(OPT.accept, r.accept)]),
      ...(r.observe === undefined ? [] : [opt(OPT.observe, r.observe)]), ...(r.block1 === undefined ? [] : [opt(OPT.block1, r.block1)]),
      ...(r.block2 === undefined ? [] : [opt(OPT.block2, r.block2)]), ...r.ifMatch.map((v) => opt(OPT.ifMatch, v)), ...r.extras,
    ],
  }));
}

export const encodeRequest = (m: Message): Buffer => encode(m);
