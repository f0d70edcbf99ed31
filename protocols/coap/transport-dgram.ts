/**
 * The CoAP transport on a bare `node:dgram` socket (RFC 7252 message layer, RFC 7959 Block-wise,
 * RFC 7641 Observe registration), written for the device hot path: one parse per datagram, one
 * encode per reply, no streams or per-request objects beyond the exchange itself.
 * - malformed datagrams are dropped (a malformed confirmable one gets RST), CoAP ping gets RST;
 * - duplicates are caught by `exchange-cache.ts` (in flight: ignored; answered: the same reply);
 * - requests are screened (`screen.ts`) and Block1 uploads reassembled (`block1.ts`);
 * - replies are piggybacked on the ACK; a handler slower than `piggybackMs` gets an empty ACK
 *   first and its answer later as a confirmable separate response (§5.2.2);
 * - replies over one block are served block-wise (RFC 7959 §2.4) statelessly: every Block2
 *   request is handled afresh and sliced, with an ETag so a client sees a change between blocks;
 * - ACK/RST of notifications and separate responses go to the notifier (`notifier.ts`).
 * Datagrams are handled fairly across endpoints (`fair-queue.ts`).
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { parse } from 'coap-packet';
import type { Packet, ParsedPacket } from 'coap-packet';
import { Block1Reassembler, reply } from './block1.ts';
import { diagnostic } from './errors.ts';
import { ExchangeCache, IN_FLIGHT } from './exchange-cache.ts';
import { DATAGRAM_FAIRNESS, FairQueue } from './fair-queue.ts';
import { encodeMessage } from './message.ts';
import { Notifier } from './notifier.ts';
import { blockSize, encodeBlock, encodeUint, isWellFormed, parseBlock } from './options.ts';
import { toRequest } from './request.ts';
import { screenRequest } from './screen.ts';
import { bindExclusive } from './socket.ts';
import type { CoapExchange, CoapResponse, CoapTransport, EngineOptions, Observation } from './transport.ts';

export interface DgramTransportOptions extends EngineOptions {
  /** Bytes of replies kept for duplicate detection (`exchange-cache.ts`). */
  cacheBytes: number;
}

/** Largest block served (1024 bytes): fits any IPv6 path MTU with headers (RFC 7252 §4.6). */
const MAX_SZX = 6;
/** Per-endpoint exchanges remembered: covers a client pipelining up to this many requests. */
const PER_ENDPOINT = 256;
/** RFC 7252 §4.8.2 EXCHANGE_LIFETIME. */
const EXCHANGE_LIFETIME_MS = 247_000;

/** A request being handled, until it is answered (for the piggyback deadline). */
interface Pending { endpoint: string; mid: number; rinfo: RemoteInfo; at: number; separate: boolean }

export function createDgramTransport(opts: DgramTransportOptions): CoapTransport {
  let socket: Socket | null = null;
  let handler: (exchange: CoapExchange) => void = () => {};
  let fair: FairQueue<[Buffer, RemoteInfo, string]> | null = null;
  let sweeper: ReturnType<typeof setInterval> | null = null;
  /** Set when close() begins: from then on only the notifier's final messages go out. */
  let closing = false;
  const cache = new ExchangeCache({ maxBytes: opts.cacheBytes, perEndpoint: PER_ENDPOINT, lifetimeMs: EXCHANGE_LIFETIME_MS });
  const block1 = new Block1Reassembler(opts.block1);
  const notifier = new Notifier({
    ackTimeoutMs: opts.ackTimeoutMs, maxRetransmit: opts.maxRetransmit, maxBlockSzx: MAX_SZX,
    send: (d, e) => sendTracked(d, e.port, e.address),
    etagOf: etagOf,
  });
  /** Requests in flight, oldest first, for the piggyback deadline sweep. */
  const pending = new Set<Pending>();

  // Notifications handed to the socket but not yet written: closing the socket drops them, and
  // the last ones matter (the 5.03 that ends each observation at shutdown), so close() waits for
  // them. Replies go untracked: a completion callback per reply costs a tick on the hot path.
  let unsent = 0;
  let flushed: (() => void) | null = null;
  const afterSend = () => { if (--unsent === 0) flushed?.(); };
  const sendTo = (datagram: Uint8Array, port: number, address: string) => {
    if (socket !== null && !closing) socket.send(datagram, port, address);
  };
  const sendTracked = (datagram: Uint8Array, port: number, address: string) => {
    if (socket === null) return;
    unsent++;
    socket.send(datagram, port, address, afterSend);
  };
  const rst = (msg: Buffer, r: RemoteInfo) => sendTo(Buffer.from([0x70, 0, msg[2]!, msg[3]!]), r.port, r.address);

  function onDatagram(msg: Buffer, rinfo: RemoteInfo, endpoint: string): void {
    try {
      if (!isWellFormed(msg)) {
        // RFC 7252 §4.2: a malformed confirmable message is rejected with RST; §4.3: others ignored.
        if (msg.length >= 4 && msg[0]! >> 6 === 1 && (msg[0]! >> 4 & 3) === 0) rst(msg, rinfo);
        return;
      }
      let packet = parse(msg);
      if (packet.code === '0.00') {
        if (packet.ack || packet.reset) notifier.onEmpty({ address: rinfo.address, port: rinfo.port }, packet.messageId, packet.reset);
        else if (packet.confirmable) rst(msg, rinfo); // RFC 7252 §4.3: CoAP ping → RST
        return;
      }
      if (packet.code.charCodeAt(0) !== 48 /* '0' */ || packet.ack || packet.reset) {
        // A response this server never asked for: RFC 7252 §4.2 rejects a confirmable one with RST.
        if (packet.confirmable) rst(msg, rinfo);
        return;
      }
      const mid = packet.messageId;
      const seen = cache.lookup(endpoint, mid);
      if (seen === IN_FLIGHT) return;
      if (seen !== undefined) { sendTo(seen, rinfo.port, rinfo.address); return; }
      const screened = screenRequest(packet);
      if (screened.kind === 'drop') return;
      if (screened.kind === 'refuse') { answerWith(endpoint, mid, reply(packet, screened.code, [], Buffer.from(screened.message)), rinfo); return; }
      packet = screened.packet;
      const outcome = block1.handle(endpoint, msg, packet);
      if (outcome.kind === 'reply') { answerWith(endpoint, mid, outcome.datagram, rinfo); return; }
      cache.begin(endpoint, mid);
      if (outcome.kind === 'forward') deliver(parse(outcome.datagram), rinfo, endpoint, outcome.block1);
      else deliver(packet, rinfo, endpoint, undefined);
    } catch (err) {
      opts.onError(err);
    }
  }

  function answerWith(endpoint: string, mid: number, datagram: Buffer, rinfo: RemoteInfo): void {
    cache.complete(endpoint, mid, datagram);
    sendTo(datagram, rinfo.port, rinfo.address);
  }

  function deliver(packet: ParsedPacket, rinfo: RemoteInfo, endpoint: string, block1Echo: Buffer | undefined): void {
    const request = toRequest(packet, rinfo);
    const block2 = blockOption(packet, 'Block2');
    const p: Pending = { endpoint, mid: packet.messageId, rinfo, at: Date.now(), separate: false };
    if (packet.confirmable) pending.add(p);
    let answered = false;
    const send = (response: CoapResponse, observe: number | undefined) => {
      if (answered) throw new Error('CoAP exchange answered twice');
      answered = true;
      pending.delete(p);
      // A handler finishing after close began (its commit was in flight): the client gets no
      // answer, as from any stopped server.
      if (socket === null || closing) return;
      const block = blockOf(response, block2);
      let out: Packet;
      if (block === null) {
        // A diagnostic (RFC 7252 §5.5.2): none of the replaced body's options describe it.
        out = { code: '4.02', token: packet.token, options: [], payload: pastTheEnd(block2!, response) };
      } else {
        const options: Packet['options'] & object = [];
        if (observe !== undefined) options.push({ name: 'Observe', value: encodeUint(observe) });
        if (response.contentFormat !== undefined) options.push({ name: 'Content-Format', value: encodeUint(response.contentFormat) });
        if (response.maxAge !== undefined) options.push({ name: 'Max-Age', value: encodeUint(response.maxAge) });
        if (block1Echo !== undefined) options.push({ name: 'Block1', value: block1Echo });
        options.push(...block.options);
        out = { code: response.code, token: packet.token, options, payload: block.payload };
      }
      if (p.separate) {
        // The empty ACK is what duplicates get; this answer is retransmitted on its own until ACKed.
        notifier.sendSeparate({ address: rinfo.address, port: rinfo.port }, out);
        return;
      }
      if (packet.confirmable) { out.ack = true; out.messageId = packet.messageId; } else out.confirmable = false;
      answerWith(endpoint, packet.messageId, encodeMessage(out), rinfo);
    };
    const exchange: CoapExchange = {
      request,
      respond: (response) => send(response, undefined),
      accept(response): Observation {
        // RFC 7641 §3.2/§4.4: the registration's answer carries the first sequence number;
        // later notifications continue from it (notifier.ts).
        send(response, 1);
        const observation = notifier.open(request.endpoint, packet.token, 1);
        if (socket === null || closing) observation.end();
        return observation;
      },
    };
    handler(exchange);
  }

  /** Requests unanswered after `piggybackMs` get an empty ACK now and a separate response later. */
  function sweep(): void {
    const due = Date.now() - opts.piggybackMs;
    for (const p of pending) {
      if (p.at > due) break;
      pending.delete(p);
      p.separate = true;
      answerWith(p.endpoint, p.mid, emptyAck(p.mid), p.rinfo);
    }
  }

  return {
    async listen(host, port, h) {
      handler = h;
      const sock = await bindExclusive(host, port);
      // Datagrams still queued when the transport closes are dropped.
      fair = new FairQueue<[Buffer, RemoteInfo, string]>(([m, r, e]) => { if (socket !== null && !closing) onDatagram(m, r, e); }, DATAGRAM_FAIRNESS);
      sock.on('message', (m, r) => {
        if (socket === null) return;
        const endpoint = `${r.address}:${r.port}`;
        fair?.push(endpoint, [m, r, endpoint]);
      });
      sock.on('error', (err) => opts.onError(err));
      sweeper = setInterval(sweep, Math.max(10, Math.floor(opts.piggybackMs / 4)));
      sweeper.unref?.();
      socket = sock;
      return sock.address().port;
    },
    async close() {
      closing = true;
      notifier.close();
      fair?.clear();
      if (sweeper !== null) clearInterval(sweeper);
      pending.clear();
      cache.clear();
      const sock = socket;
      if (sock === null) return;
      if (unsent > 0) await new Promise<void>((resolve) => { flushed = resolve; setTimeout(resolve, 250).unref?.(); });
      socket = null;
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

function blockOption(packet: ParsedPacket, name: 'Block2'): { num: number; more: boolean; szx: number } | null {
  for (const o of packet.options) if (o.name === name) return parseBlock(o.value);
  return null;
}

/**
 * What to send of `response` (RFC 7959 §2.4): the requested block, or the first one when the
 * payload is over one block, with Block2 (and ETag, Size2 on the first); the whole payload when
 * it fits; null when the requested block is past the end.
 */
function blockOf(response: CoapResponse, requested: { num: number; szx: number } | null): { payload: Buffer; options: Packet['options'] & object } | null {
  const payload = Buffer.from(response.payload.buffer, response.payload.byteOffset, response.payload.byteLength);
  const szx = Math.min(MAX_SZX, requested?.szx ?? MAX_SZX);
  const size = blockSize(szx);
  const num = requested?.num ?? 0;
  // Errors are short diagnostics, sent whole whatever block was asked for.
  if (!response.code.startsWith('2.') || payload.length === 0 || (num === 0 && payload.length <= size)) return { payload, options: [] };
  if (num * size >= payload.length) return null;
  const options: Packet['options'] & object = [
    { name: 'ETag', value: etagOf(payload) },
    { name: 'Block2', value: encodeBlock({ num, more: (num + 1) * size < payload.length, szx }) },
  ];
  if (num === 0) options.push({ name: 'Size2', value: encodeUint(payload.length) });
  return { payload: payload.subarray(num * size, Math.min(payload.length, (num + 1) * size)), options };
}

/** RFC 7959 §2.2: a block past the end of the reply is 4.02, with a diagnostic. */
function pastTheEnd(requested: { num: number }, response: CoapResponse): Buffer {
  return diagnostic('invalid_request', `Block2 block ${requested.num} is past the end of the ${response.payload.length}-byte reply`);
}

/**
 * A 4-byte ETag of a Block2 body (FNV-1a), so the blocks of one representation share it and a
 * client notices when the representation changed between blocks (RFC 7959 §2.4).
 */
function etagOf(payload: Uint8Array): Buffer {
  let h = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(h >>> 0);
  return out;
}

/**
 * An empty ACK (RFC 7252 §4.2: a 0.00 ACK with the request's message id) for a reply that goes out
 * separately. It is kept in the exchange cache, so not a slice of Node's shared buffer pool.
 */
function emptyAck(mid: number): Buffer {
  const ack = Buffer.allocUnsafeSlow(4);
  ack[0] = 0x60;
  ack[1] = 0;
  ack.writeUInt16BE(mid, 2);
  return ack;
}
