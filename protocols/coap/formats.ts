/**
 * Content formats (RFC 7252 §12.3): 50 application/json and 60 application/cbor, in and out.
 * Replies honour Accept; without it a reply uses the request's format, and a GET (no payload, no
 * Content-Format) gets JSON. CBOR replies are plain, compact RFC 8949 maps — cbor-x configured as
 * in `src/store/codec.ts` (no records, no tags) — so any device decoder reads them.
 */
import { Encoder } from 'cbor-x';
import { DoppelError } from '../../src/errors.ts';
import { decodeCbor } from './cbor.ts';
import { CoapFailure } from './errors.ts';

export const JSON_FORMAT = 50;
export const CBOR_FORMAT = 60;
export const LINK_FORMAT = 40;
export type Format = typeof JSON_FORMAT | typeof CBOR_FORMAT;

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true });
const utf8Out = new TextEncoder();
const utf8In = new TextDecoder('utf-8', { fatal: true });

/** The format of a request body; no Content-Format is read as JSON (e.g. `coap-client -f file`). */
export function requestFormat(contentFormat: number | undefined): Format {
  if (contentFormat === undefined || contentFormat === JSON_FORMAT) return JSON_FORMAT;
  if (contentFormat === CBOR_FORMAT) return CBOR_FORMAT;
  throw new DoppelError('unsupported_format', `Unsupported Content-Format ${contentFormat}: expected 50 (JSON) or 60 (CBOR)`);
}

/** The format of the reply: Accept, else the request's Content-Format, else JSON. */
export function replyFormat(accept: number | undefined, contentFormat: number | undefined): Format {
  if (accept !== undefined) {
    if (accept === JSON_FORMAT || accept === CBOR_FORMAT) return accept;
    // RFC 7252 §5.10.4: an Accept the server cannot satisfy is answered 4.06 Not Acceptable.
    throw new CoapFailure('4.06', 'unsupported_format', `Accept ${accept} is not served: use 50 (JSON) or 60 (CBOR)`);
  }
  return contentFormat === CBOR_FORMAT ? CBOR_FORMAT : JSON_FORMAT;
}

/** Decodes a request body to a JSON value (structure only; the twin core validates the rest). */
export function decodeBody(payload: Uint8Array, format: Format): unknown {
  if (payload.length === 0) throw new DoppelError('invalid_request', 'Missing body: send the reported patch as JSON or CBOR');
  if (format === CBOR_FORMAT) return decodeCbor(payload);
  let text: string;
  try { text = utf8In.decode(payload); } catch { throw new DoppelError('invalid_request', 'Malformed JSON: not valid UTF-8'); }
  try {
    // JSON.parse defines `__proto__` as an own key (never a prototype); the core refuses it.
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DoppelError('invalid_request', `Malformed JSON: ${(err as Error).message}`);
  }
}

/** Encodes a reply body. */
export function encodeBody(value: unknown, format: Format): Uint8Array {
  return format === CBOR_FORMAT ? cbor.encode(value) : utf8Out.encode(JSON.stringify(value));
}
