/**
 * Option value helpers (RFC 7252 §3.2): uint options are big-endian with leading zero bytes
 * dropped (0 is the empty value); block options pack NUM, M and SZX (RFC 7959 §2.2).
 */

/** Option numbers used here that node-coap/coap-packet do not name. */
export const REQUEST_TAG = 292; // RFC 9175 §3.2

export function decodeUint(value: Uint8Array): number {
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

/** The one-byte values (and 0, the empty one), made once: Content-Format and most others are one. */
const SMALL_UINTS: readonly Buffer[] = Array.from({ length: 256 }, (_, n) => (n === 0 ? Buffer.alloc(0) : Buffer.of(n)));

/** The value of a uint option; one under 256 is a shared buffer, which callers must not write to. */
export function encodeUint(n: number): Buffer {
  if (n < 256 && n >= 0 && Number.isInteger(n)) return SMALL_UINTS[n]!;
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

export interface BlockOption { num: number; more: boolean; szx: number }

/** Block size in bytes of an SZX (RFC 7959 §2.2: 2^(SZX+4), 16–1024; 7 is reserved). */
export const blockSize = (szx: number) => 1 << (szx + 4);

/** Parses a Block1/Block2 value; null when it is malformed (over 3 bytes or SZX 7). */
export function parseBlock(value: Uint8Array): BlockOption | null {
  if (value.length > 3) return null;
  const n = decodeUint(value);
  const szx = n & 7;
  if (szx === 7) return null;
  return { num: Math.floor(n / 16), more: (n & 8) !== 0, szx };
}

export function encodeBlock(b: BlockOption): Buffer {
  return encodeUint(b.num * 16 + (b.more ? 8 : 0) + b.szx);
}

/**
 * RFC 7252 §3 and §3.1 message format checks that coap-packet's lenient parser skips: version 1,
 * token length ≤ 8, options that end inside the datagram, no reserved nibble 15, no payload marker
 * without a payload, and an Empty message (code 0.00) of exactly the 4-byte header.
 */
export function isWellFormed(msg: Uint8Array): boolean {
  if (msg.length < 4 || msg[0]! >> 6 !== 1) return false;
  const tkl = msg[0]! & 0x0f;
  if (tkl > 8 || msg.length < 4 + tkl) return false;
  if (msg[1] === 0) return msg.length === 4 && tkl === 0;
  let pos = 4 + tkl;
  while (pos < msg.length) {
    const b = msg[pos++]!;
    if (b === 0xff) return pos < msg.length;
    let delta = b >> 4;
    let length = b & 0x0f;
    if (delta === 15 || length === 15) return false;
    if (delta === 13) { if (pos + 1 > msg.length) return false; delta = msg[pos++]! + 13; }
    else if (delta === 14) { if (pos + 2 > msg.length) return false; pos += 2; }
    if (length === 13) { if (pos + 1 > msg.length) return false; length = msg[pos++]! + 13; }
    else if (length === 14) { if (pos + 2 > msg.length) return false; length = msg[pos]! * 256 + msg[pos + 1]! + 269; pos += 2; }
    pos += length;
    if (pos > msg.length) return false;
  }
  return true;
}
