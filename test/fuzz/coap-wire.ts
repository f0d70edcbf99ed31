/**
 * CoAP on the wire for the fuzz suite, written from RFC 7252 §3 rather than with the server's own
 * code: an encoder that can also lie (any nibble, any extended length, truncated values), and a
 * reference parser that says what a server must do with a datagram (answer, RST, or ignore).
 */
import fc from 'fast-check';

export interface WireOption { number: number; value: Uint8Array }

export interface Message {
  /** 0 CON, 1 NON, 2 ACK, 3 RST. */
  type: number;
  /** Class × 32 + detail (0x01 GET … 0x45 2.05). */
  code: number;
  mid: number;
  token: Uint8Array;
  options: WireOption[];
  payload: Uint8Array;
}

/** Option numbers by name (RFC 7252 §12.2, RFC 7959, RFC 7641, RFC 9175). */
export const OPT = {
  ifMatch: 1, uriHost: 3, etag: 4, ifNoneMatch: 5, observe: 6, uriPort: 7, oscore: 9, uriPath: 11, contentFormat: 12,
  uriQuery: 15, accept: 17, qBlock1: 19, block2: 23, block1: 27, size2: 28, proxyUri: 35, proxyScheme: 39, size1: 60,
  noResponse: 258, requestTag: 292,
} as const;

/** Critical options the server understands, and whether they may repeat (CoAP RFC 7252 §5.4.5). */
export const UNDERSTOOD_CRITICAL: ReadonlyMap<number, boolean> = new Map([
  [OPT.ifMatch, true], [OPT.uriHost, false], [OPT.uriPort, false], [OPT.uriPath, true], [OPT.uriQuery, true],
  [OPT.accept, false], [OPT.block2, false], [OPT.block1, false],
]);

export function uintBytes(n: number): Uint8Array {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}
export const readUint = (b: Uint8Array): number => b.reduce((n, x) => n * 256 + x, 0);

function extended(n: number): { nibble: number; ext: number[] } {
  if (n < 13) return { nibble: n, ext: [] };
  if (n < 269) return { nibble: 13, ext: [n - 13] };
  return { nibble: 14, ext: [(n - 269) >> 8, (n - 269) & 0xff] };
}

/** One option header and value as RFC 7252 §3.1 encodes it. */
export function encodeOption(delta: number, value: Uint8Array): number[] {
  const d = extended(delta);
  const l = extended(value.length);
  return [(d.nibble << 4) | l.nibble, ...d.ext, ...l.ext, ...value];
}

/** A well-formed datagram (options sorted by number, shortest encodings). */
export function encode(m: Message): Buffer {
  const bytes = [0x40 | (m.type << 4) | m.token.length, m.code, m.mid >> 8, m.mid & 0xff, ...m.token];
  let last = 0;
  for (const o of [...m.options].sort((a, b) => a.number - b.number)) {
    bytes.push(...encodeOption(o.number - last, o.value));
    last = o.number;
  }
  if (m.payload.length > 0) bytes.push(0xff, ...m.payload);
  return Buffer.from(bytes);
}

export type Parsed = Message & { version: number };

/** What RFC 7252 §3 makes of a datagram: a message, or null for a message format error. */
export function referenceParse(d: Uint8Array): Parsed | null {
  if (d.length < 4) return null;
  const version = d[0]! >> 6;
  const type = (d[0]! >> 4) & 3;
  const tkl = d[0]! & 15;
  const code = d[1]!;
  const mid = d[2]! * 256 + d[3]!;
  if (tkl > 8 || d.length < 4 + tkl) return null;
  const token = d.subarray(4, 4 + tkl);
  // §4.1: an Empty message is the 4-byte header and nothing else.
  if (code === 0 && d.length !== 4) return null;
  const options: WireOption[] = [];
  let at = 4 + tkl;
  let number = 0;
  const ext = (nibble: number): number | null => {
    if (nibble < 13) return nibble;
    if (nibble === 15) return null;
    const size = nibble === 13 ? 1 : 2;
    if (at + size > d.length) return null;
    const v = nibble === 13 ? d[at]! + 13 : d[at]! * 256 + d[at + 1]! + 269;
    at += size;
    return v;
  };
  while (at < d.length) {
    const b = d[at++]!;
    if (b === 0xff) {
      if (at === d.length) return null; // §3: a marker followed by a zero-length payload
      return { version, type, code, mid, token, options, payload: d.subarray(at) };
    }
    const delta = ext(b >> 4);
    const length = delta === null ? null : ext(b & 15);
    if (delta === null || length === null || at + length > d.length) return null;
    number += delta;
    options.push({ number, value: d.subarray(at, at + length) });
    at += length;
  }
  return { version, type, code, mid, token, options, payload: new Uint8Array(0) };
}

/** Option bytes that may lie: any nibbles (13/14 extended, 15 reserved), any extension bytes, short values. */
export const rawOptionBytes: fc.Arbitrary<number[]> = fc.tuple(
  fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 2 }),
  fc.uint8Array({ maxLength: 12 }),
).map(([delta, length, ext, value]) => [(delta << 4) | length, ...ext, ...value]);

let nextMid = 1;
/** Message ids from a counter: each datagram of a run is told apart by its id. */
export const freshMid = (): number => (nextMid = (nextMid % 65_535) + 1);

/** Writes `mid` into a datagram's header (bytes 2–3) when it has one. */
export function withMid(d: Uint8Array, mid: number): Buffer {
  const out = Buffer.from(d);
  if (out.length >= 4) { out[2] = mid >> 8; out[3] = mid & 0xff; }
  return out;
}
