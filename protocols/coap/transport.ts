/**
 * THE seam between CoAP resource logic and the engine that speaks UDP. Resources see only these
 * types: a decoded request, a way to answer it, and (for Observe) a way to push notifications.
 * Two engines implement it: `transport-dgram.ts` (the default, Doppel's own message layer on raw
 * `node:dgram`) and `transport-node-coap.ts` (node-coap, kept as a fallback); swapping them
 * touches neither `resources.ts` nor `observe.ts`.
 */
import type { Block1Options } from './block1.ts';

/** What every engine behind the seam is configured with. */
export interface EngineOptions {
  /** How long a handler may take before the request gets an empty ACK and a separate response. */
  piggybackMs: number;
  block1: Block1Options;
  /** RFC 7252 §4.8 ACK_TIMEOUT and MAX_RETRANSMIT, for notifications and separate responses. */
  ackTimeoutMs: number;
  maxRetransmit: number;
  /** Called with unexpected failures (logged by the caller); never thrown into the socket. */
  onError(err: unknown): void;
}

/** The peer of an exchange: the UDP source address and port. */
export interface CoapEndpoint { readonly address: string; readonly port: number }

/** A request as resources see it: options already decoded, Block1 already reassembled. */
export interface CoapRequest {
  /** `GET`, `POST`, `PUT`, `DELETE`, `FETCH`, … (RFC 7252 §12.1.1 method codes by name). */
  readonly method: string;
  /** Uri-Path segments, decoded (RFC 7252 §6.4). */
  readonly path: readonly string[];
  /** Uri-Query entries, each `name=value` (or `name`), decoded. */
  readonly query: readonly string[];
  readonly contentFormat: number | undefined;
  readonly accept: number | undefined;
  /** Raw If-Match option values (RFC 7252 §5.10.8.1). */
  readonly ifMatch: readonly Uint8Array[];
  /** The Observe option: 0 register, 1 deregister (RFC 7641 §2). */
  readonly observe: number | undefined;
  readonly payload: Uint8Array;
  readonly endpoint: CoapEndpoint;
  /** Hex of the request token (RFC 7252 §5.3.1): names an observation together with the endpoint. */
  readonly token: string;
  readonly confirmable: boolean;
}

/** A response or notification. `code` is dotted (`2.05`). */
export interface CoapResponse {
  code: string;
  contentFormat?: number;
  /** Seconds (RFC 7252 §5.10.5); used for 4.29 to say when to retry. */
  maxAge?: number;
  payload: Uint8Array;
}

/** Why an observation ended from the client side. */
export type ObservationEnd = 'reset' | 'timeout' | 'closed';

/** An open Observe relation (RFC 7641): the registration was answered with an Observe option. */
export interface Observation {
  /**
   * Sends one notification with the next Observe sequence number. `confirmable` asks for an ACK
   * (RFC 7641 §4.5); when it is not acknowledged after the retransmissions, or answered with RST,
   * the relation ends with `timeout` / `reset`.
   */
  notify(response: CoapResponse, confirmable: boolean): void;
  /** Ends the relation from the server side (no further notifications). */
  end(): void;
  /** Called once when the relation ends for any reason but `end()`. */
  onEnd(listener: (why: ObservationEnd) => void): void;
}

/** One request and its answer. Exactly one of `respond` / `accept` is called. */
export interface CoapExchange {
  readonly request: CoapRequest;
  respond(response: CoapResponse): void;
  /**
   * Answers an Observe=0 GET with `response` carrying an Observe option (RFC 7641 §3.2) and keeps
   * the exchange as an observation. Only valid when `request.observe === 0`.
   */
  accept(response: CoapResponse): Observation;
}

/** A CoAP engine bound to a UDP port. */
export interface CoapTransport {
  /** Binds and starts delivering exchanges; resolves with the bound port (useful with 0). */
  listen(host: string, port: number, handler: (exchange: CoapExchange) => void): Promise<number>;
  close(): Promise<void>;
}
