/**
 * A parsed request as resources see it (`transport.ts`'s `CoapRequest`): the options they act on,
 * decoded. Shared by both engines.
 */
import type { ParsedPacket } from 'coap-packet';
import { decodeUint } from './options.ts';
import type { CoapEndpoint, CoapRequest } from './transport.ts';

/** RFC 7252 §12.1.1 method codes by name (the screen refuses others before they get here). */
const METHODS: Record<string, string> = { '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE', '0.05': 'FETCH', '0.06': 'PATCH', '0.07': 'iPATCH' };

export function toRequest(p: ParsedPacket, from: CoapEndpoint): CoapRequest {
  const path: string[] = [];
  const query: string[] = [];
  const ifMatch: Uint8Array[] = [];
  let contentFormat: number | undefined;
  let accept: number | undefined;
  let observe: number | undefined;
  for (const o of p.options) {
    switch (String(o.name)) {
      case 'Uri-Path': path.push(o.value.toString('utf8')); break;
      case 'Uri-Query': query.push(o.value.toString('utf8')); break;
      // RFC 7252 §5.4.5: a repeated non-repeatable option counts once, the first time.
      case 'Content-Format': contentFormat ??= decodeUint(o.value); break;
      case 'Accept': accept ??= decodeUint(o.value); break;
      case 'If-Match': ifMatch.push(o.value); break;
      case 'Observe': observe = decodeUint(o.value); break;
    }
  }
  return {
    method: METHODS[p.code] ?? p.code, path, query, contentFormat, accept, ifMatch, observe,
    payload: p.payload, endpoint: { address: from.address, port: from.port },
    token: p.token.toString('hex'), confirmable: p.confirmable,
  };
}
