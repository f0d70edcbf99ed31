/**
 * Error codes → CoAP response codes with a short UTF-8 diagnostic payload (RFC 7252 §5.5.2:
 * "a brief human-readable diagnostic message"). The table lives in `src/errors.ts`; this file only
 * serializes.
 *
 * Every diagnostic has one format, `<code>: <Message in sentence case>`, where `<code>` is the
 * stable Doppel error code, so a device branches on the code whatever layer refused it (the
 * resources, the request screen, Block1 reassembly or the transport). The only way to build one is
 * {@link diagnostic}, which takes the code as a typed argument.
 */
import { ERROR_CODES, toDoppelError } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { CoapResponse } from './transport.ts';

const utf8 = new TextEncoder();
/** Diagnostic payloads stay small: they must fit one datagram next to the header and options. */
const MAX_DIAGNOSTIC_BYTES = 200;

/** A diagnostic payload; only {@link diagnostic} makes one (the brand keeps bare strings out). */
export type Diagnostic = Buffer & { readonly __diagnostic: true };

/**
 * A CoAP-only failure: a response code the Doppel code does not imply (4.02 Bad Option, 4.06 Not
 * Acceptable, 4.08 Request Entity Incomplete, 5.05 Proxying Not Supported), still with a Doppel code.
 */
export class CoapFailure extends Error {
  readonly coapCode: string;
  readonly code: ErrorCode;
  constructor(coapCode: string, code: ErrorCode, message: string) {
    super(message);
    this.name = 'CoapFailure';
    this.coapCode = coapCode;
    this.code = code;
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
  if (err instanceof CoapFailure) return { code: err.coapCode, payload: diagnostic(err.code, err.message), internal: false };
  const e = toDoppelError(err);
  const message = e.public ? e.message : 'Internal error';
  const out: CoapResponse & { internal: boolean } = {
    code: ERROR_CODES[e.code].coap, payload: diagnostic(e.code, message), internal: e.code === 'internal',
  };
  // RFC 7252 §5.10.5: Max-Age on an error tells how long it stays valid, i.e. when to retry.
  if (e.retryAfter !== undefined) out.maxAge = Math.max(1, Math.ceil(e.retryAfter));
  return out;
}

/**
 * `<code>: <Message>` as UTF-8, the message's first letter upper-cased, cut to
 * {@link MAX_DIAGNOSTIC_BYTES} on a character boundary.
 *
 * @example
 * diagnostic('invalid_request', 'malformed Block2 option').toString(); // 'invalid_request: Malformed Block2 option'
 */
export function diagnostic(code: ErrorCode, message: string): Diagnostic {
  let bytes = utf8.encode(`${code}: ${message.charAt(0).toUpperCase()}${message.slice(1)}`);
  if (bytes.length > MAX_DIAGNOSTIC_BYTES) {
    // Cut on a character boundary so the payload stays valid UTF-8.
    let cut = MAX_DIAGNOSTIC_BYTES;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Diagnostic;
}
