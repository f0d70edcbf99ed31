/**
 * CBOR for the fuzz suite, written from RFC 8949 independently of the decoder under test: a
 * generator of JSON-model values together with one of their many valid encodings (any argument
 * width, indefinite lengths, chunked text, floats of any exact width, duplicate keys), byte
 * mutations, and a check that a decoded value is plain JSON data.
 */
import fc from 'fast-check';

export interface Encoded { value: unknown; bytes: number[] }

/** A head (RFC 8949 §3) for `major` and `n`, with any argument width that can hold n. */
function head(major: number, n: number): fc.Arbitrary<number[]> {
  const widths: Array<[number, number]> = [];
  if (n < 24) widths.push([n, 0]);
  if (n < 2 ** 8) widths.push([24, 1]);
  if (n < 2 ** 16) widths.push([25, 2]);
  if (n < 2 ** 32) widths.push([26, 4]);
  widths.push([27, 8]);
  return fc.constantFrom(...widths).map(([info, size]) => {
    const out = [(major << 5) | info];
    for (let i = size - 1; i >= 0; i--) out.push(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn));
    return out;
  });
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

function float(x: number): fc.Arbitrary<number[]> {
  const f64 = new DataView(new ArrayBuffer(8));
  f64.setFloat64(0, x);
  const widths = [[0xfb, ...new Uint8Array(f64.buffer)]];
  if (Math.fround(x) === x || Number.isNaN(x)) {
    const f32 = new DataView(new ArrayBuffer(4));
    f32.setFloat32(0, x);
    widths.push([0xfa, ...new Uint8Array(f32.buffer)]);
  }
  return fc.constantFrom(...widths);
}

function number(n: number): fc.Arbitrary<number[]> {
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return float(n);
  const int = n >= 0 ? head(0, n) : head(1, -1 - n);
  return fc.oneof(int, float(n));
}

function text(s: string): fc.Arbitrary<number[]> {
  const bytes = utf8(s);
  const definite = head(3, bytes.length).map((h) => [...h, ...bytes]);
  // Indefinite: definite chunks cut between code points (RFC 8949 §3.2.3).
  const points = [...s];
  const chunked = fc.array(fc.integer({ min: 0, max: points.length }), { maxLength: 3 }).map((cuts) => {
    const at = [...new Set([0, ...cuts, points.length])].sort((a, b) => a - b);
    const out = [0x7f];
    for (let i = 1; i < at.length; i++) {
      const chunk = utf8(points.slice(at[i - 1], at[i]).join(''));
      out.push(...(chunk.length < 24 ? [0x60 | chunk.length] : [0x78, chunk.length]), ...chunk);
    }
    return [...out, 0xff];
  });
  return fc.oneof(definite, chunked);
}

function container(major: 4 | 5, count: number, body: number[]): fc.Arbitrary<number[]> {
  return fc.oneof(head(major, count).map((h) => [...h, ...body]), fc.constant<number[]>([(major << 5) | 31, ...body, 0xff]));
}

const keys = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b', ''), fc.string({ maxLength: 6, unit: 'grapheme' }));

/** A JSON-model value and one valid encoding of it. */
export const encoded: fc.Arbitrary<Encoded> = fc.letrec<{ item: Encoded }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true })).chain((n) => number(n).map((bytes) => ({ value: n, bytes }))),
    fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s.isWellFormed()).chain((s) => text(s).map((bytes) => ({ value: s, bytes }))),
    fc.constantFrom<Encoded>({ value: true, bytes: [0xf5] }, { value: false, bytes: [0xf4] }, { value: null, bytes: [0xf6] }),
    fc.array(tie('item'), { maxLength: 4 }).chain((items) => container(4, items.length, items.flatMap((i) => i.bytes)).map((bytes) => ({ value: items.map((i) => i.value), bytes }))),
    fc.array(fc.tuple(keys, tie('item')), { maxLength: 4 }).chain((entries) => {
      const value: Record<string, unknown> = {};
      // Duplicate keys: the last one wins, as in JSON.parse.
      for (const [k, v] of entries) Object.defineProperty(value, k, { value: v.value, enumerable: true, writable: true, configurable: true });
      return fc.tuple(...entries.map(([k]) => text(k))).chain((ks) =>
        container(5, entries.length, entries.flatMap(([, v], i) => [...ks[i]!, ...v.bytes])).map((bytes) => ({ value, bytes })));
    }),
  ),
})).item;

/** Fragments that probe the decoder's refusals when spliced anywhere. */
export const hostileFragments = [
  'bb0000000100000000', '9b001fffffffffffff', '7a80000000', '5a00000010', 'c0', 'd8ff', 'f7', 'f8ff', 'f0', 'f97e00', 'f97c00',
  'fa7fc00000', 'fb7ff0000000000000', '1bffffffffffffffff', '3b0020000000000000', 'ff', '1c', '5f', '7f41ff', '7f7fffff', 'a101', 'a180',
].map((h) => [...Buffer.from(h, 'hex')]);

/** One random edit of `bytes`. */
export const mutate = (bytes: number[]): fc.Arbitrary<number[]> => fc.oneof(
  fc.nat({ max: Math.max(0, bytes.length - 1) }).chain((i) => fc.integer({ min: 0, max: 255 }).map((b) => bytes.map((x, j) => (j === i ? b : x)))),
  fc.nat({ max: bytes.length }).map((n) => bytes.slice(0, n)),
  fc.tuple(fc.nat({ max: bytes.length }), fc.constantFrom(...hostileFragments)).map(([i, f]) => [...bytes.slice(0, i), ...f, ...bytes.slice(i)]),
  fc.tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([i, r]) => [...bytes.slice(0, i), ...r, ...bytes.slice(i)]),
  fc.nat({ max: Math.max(0, bytes.length - 1) }).map((i) => [...bytes.slice(0, i), ...bytes.slice(i + 1)]),
);

/** Why `v` is not plain JSON data (own enumerable keys, Object.prototype, finite numbers), or null. */
export function notJson(v: unknown, path = '$'): string | null {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${path}: ${v}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) { const bad = notJson(v[i], `${path}[${i}]`); if (bad !== null) return bad; }
    return Object.getPrototypeOf(v) === Array.prototype ? null : `${path}: array prototype`;
  }
  if (typeof v !== 'object') return `${path}: ${typeof v}`;
  if (Object.getPrototypeOf(v) !== Object.prototype) return `${path}: prototype set`;
  for (const k of Reflect.ownKeys(v)) {
    if (typeof k !== 'string') return `${path}: symbol key`;
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (!('value' in d) || !d.enumerable) return `${path}.${k}: accessor or hidden`;
    const bad = notJson(d.value, `${path}.${k}`);
    if (bad !== null) return bad;
  }
  return null;
}
