/**
 * Request rules of RFC 7252, 7959 and 7641 that node-coap skips or gets wrong, checked on every
 * request before node-coap sees it (found by fuzzing, `test/fuzz/coap-*.test.ts`):
 * - §5.8: a method other than GET, POST, PUT, DELETE is 4.05 (node-coap answers a FETCH without
 *   Content-Format with a token-less 4.15 that no client can match);
 * - §5.4.1, §5.4.5: an unrecognized critical option, or a non-repeatable critical one repeated,
 *   is 4.02 in a confirmable request and rejected (dropped) in a non-confirmable one;
 * - §5.10.2: Proxy-Uri / Proxy-Scheme is 5.05 (this server is no proxy);
 * - RFC 7959 §2.2: a Block2 with SZX 7 or over 3 bytes is 4.00 (node-coap's own 4.02 went out as
 *   an empty 2.05); Block1 is `block1.ts`'s;
 * - RFC 7641 §2: Observe is elective, so a value over 3 bytes, a repeated one, or one on a request
 *   other than GET is ignored, i.e. removed (node-coap read a long value as 0 and answered with an
 *   Observe option; on a PUT it answered a token-less 5.00 instead of handling the request);
 * - RFC 7252 §3.2: an empty Block2 is NUM 0, SZX 0 (16-byte blocks); node-coap reads it as blocks
 *   of 0 bytes and sends an empty payload, so it gets the one-byte form.
 */
import type { ParsedPacket } from 'coap-packet';
import type { ErrorCode } from '../../src/errors.ts';
import { diagnostic } from './errors.ts';
import type { Diagnostic } from './errors.ts';
import { parseBlock } from './options.ts';

export type Screened =
  | { kind: 'pass'; packet: ParsedPacket }
  /** The request minus options to ignore: forward a datagram regenerated from it. */
  | { kind: 'rewrite'; packet: ParsedPacket }
  | { kind: 'drop' }
  /** Answer with CoAP `code` and this diagnostic payload. */
  | { kind: 'refuse'; code: string; message: Diagnostic };

/** The numbers of the options coap-packet names (it gives other options as numeric strings). */
const NUMBERS: Readonly<Record<string, number>> = {
  'If-Match': 1, 'Uri-Host': 3, ETag: 4, 'If-None-Match': 5, Observe: 6, 'Uri-Port': 7, 'Location-Path': 8, OSCORE: 9,
  'Uri-Path': 11, 'Content-Format': 12, 'Max-Age': 14, 'Uri-Query': 15, 'Hop-Limit': 16, Accept: 17, 'Q-Block1': 19,
  'Location-Query': 20, Block2: 23, Block1: 27, Size2: 28, 'Q-Block2': 31, 'Proxy-Uri': 35, 'Proxy-Scheme': 39,
  Size1: 60, 'No-Response': 258, 'OCF-Accept-Content-Format-Version': 2049, 'OCF-Content-Format-Version': 2053,
};
export const optionNumber = (name: string | number): number => (typeof name === 'number' ? name : NUMBERS[name] ?? Number(name));

/**
 * Critical options the resources act on or may ignore, with whether they repeat. Uri-Host and
 * Uri-Port name this server, whatever their value; If-None-Match (5) is not implemented, so it
 * counts as unrecognized rather than being silently ignored on a write.
 */
const CRITICAL: ReadonlyMap<number, { repeatable: boolean }> = new Map([
  [1, { repeatable: true }], [3, { repeatable: false }], [7, { repeatable: false }], [11, { repeatable: true }],
  [15, { repeatable: true }], [17, { repeatable: false }], [23, { repeatable: false }], [27, { repeatable: false }],
]);
const OBSERVE = 6;
const BLOCK2 = 23;
const PROXY = new Set([35, 39]);
const METHODS = new Set(['0.01', '0.02', '0.03', '0.04']);

export function screenRequest(packet: ParsedPacket): Screened {
  const refuse = (coapCode: string, code: ErrorCode, message: string): Screened => ({ kind: 'refuse', code: coapCode, message: diagnostic(code, message) });
  if (!METHODS.has(packet.code)) return refuse('4.05', 'method_not_allowed', `Method ${packet.code} not allowed: use GET, PUT or POST`);
  const seen = new Set<number>();
  let observes = 0;
  let dropObserve = false;
  for (const o of packet.options) {
    const n = optionNumber(o.name);
    // Only the first Observe counts (§5.4.5); it goes too when it is too long or not on a GET.
    if (n === OBSERVE && ++observes === 1) dropObserve = packet.code !== '0.01' || o.value.length > 3;
    if (PROXY.has(n)) return refuse('5.05', 'invalid_request', 'Proxying not supported: this server is no proxy');
    if ((n & 1) === 1) {
      const known = CRITICAL.get(n);
      if (known === undefined || (!known.repeatable && seen.has(n))) {
        // §5.4.1: rejecting a non-confirmable message is ignoring it.
        if (!packet.confirmable) return { kind: 'drop' };
        return refuse('4.02', 'invalid_request', `${known === undefined ? 'Unsupported critical' : 'Repeated'} option ${n}`);
      }
    }
    if (n === BLOCK2 && parseBlock(o.value) === null) return refuse('4.00', 'invalid_request', 'Malformed Block2 option');
    seen.add(n);
  }
  const emptyBlock2 = packet.options.some((o) => optionNumber(o.name) === BLOCK2 && o.value.length === 0);
  if (!dropObserve && observes <= 1 && !emptyBlock2) return { kind: 'pass', packet };
  // Keep the first Observe when it is valid (§5.4.5: later ones are unrecognized), else none.
  let keep = !dropObserve;
  const options = packet.options.filter((o) => {
    if (optionNumber(o.name) !== OBSERVE) return true;
    const kept = keep;
    keep = false;
    return kept;
  }).map((o) => (optionNumber(o.name) === BLOCK2 && o.value.length === 0 ? { ...o, value: Buffer.of(0) } : o));
  return { kind: 'rewrite', packet: { ...packet, options } };
}
