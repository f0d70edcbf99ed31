/**
 * Error codes → CoAP response codes with a short UTF-8 diagnostic payload (RFC 7252 §5.5.2:
 * "a brief human-readable diagnostic message"). The table lives in `src/errors.ts`; this file only
 * serializes.
 */
import { ERROR_CODES, toDoppelError } from '../../src/errors.ts';
import type { CoapResponse } from './transport.ts';

const utf8 = new TextEncoder();
/** Diagnostic payloads stay small: they must fit one datagram next to the header and options. */
const MAX_DIAGNOSTIC_BYTES = 200;

/** A CoAP-only failure that has no Doppel code (4.02, 4.05, 4.06, 4.08, 4.12 on Block1 …). */
export class CoapFailure extends Error {
  readonly coapCode: string;
  constructor(coapCode: string, message: string) {
    super(message);
    this.name = 'CoapFailure';
    this.coapCode = coapCode;
  }
}

/**
 * The CoAP error response for anything thrown while handling a request. Internal failures get a
 * generic message (the caller logs the real one).
 *
 * @example
 * errorResponse(fail('not_found', 'No twin "x"')); // { code: '4.04', payload: 'not_found: No twin "x"' }
 */
export function errorResponse(err: unknown): CoapResponse & { internal: boolean } {
  if (err instanceof CoapFailure) return { code: err.coapCode, payload: diagnostic(err.message), internal: false };
  const e = toDoppelError(err);
  const message = e.public ? e.message : 'Internal error';
  const out: CoapResponse & { internal: boolean } = {
    code: ERROR_CODES[e.code].coap, payload: diagnostic(`${e.code}: ${message}`), internal: e.code === 'internal',
  };
  // RFC 7252 §5.10.5: Max-Age on an error tells how long it stays valid, i.e. when to retry.
  if (e.retryAfter !== undefined) out.maxAge = Math.max(1, Math.ceil(e.retryAfter));
  return out;
}

function diagnostic(text: string): Uint8Array {
  let bytes = utf8.encode(text);
  if (bytes.length > MAX_DIAGNOSTIC_BYTES) {
    // Cut on a character boundary so the payload stays valid UTF-8.
    let cut = MAX_DIAGNOSTIC_BYTES;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  return bytes;
}
