/**
 * The CoAP transport on node-coap (RFC 7252): node-coap parses requests, answers duplicates from
 * its exchange cache, piggybacks responses and serves Block2 downloads. Around it, this adapter
 * owns the UDP socket and sees every datagram first, to
 * - drop malformed datagrams (and RST a malformed confirmable one) before node-coap sees them,
 * - answer CoAP ping (empty CON) with RST (RFC 7252 §4.3),
 * - refuse or normalize requests node-coap mishandles (`screen.ts`: methods, critical options,
 *   Block2, Observe),
 * - reassemble Block1 uploads by Request-Tag (`block1.ts`, fixing node-coap's token keying),
 * - hold back duplicates of a request still being handled (node-coap caches a reply only once sent),
 * - route ACK/RST of Observe notifications to the notifier (`notifier.ts`).
 * Nothing outside this file imports node-coap.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { createServer } from 'coap';
import type { IncomingMessage, OutgoingMessage } from 'coap';
import { generate, parse } from 'coap-packet';
import type { ParsedPacket } from 'coap-packet';
import { Block1Reassembler, reply } from './block1.ts';
import { diagnostic } from './errors.ts';
import { Notifier } from './notifier.ts';
import { blockSize, encodeUint, isWellFormed, parseBlock } from './options.ts';
import { toRequest } from './request.ts';
import { screenRequest } from './screen.ts';
import { bindExclusive } from './socket.ts';
import { DATAGRAM_FAIRNESS, FairQueue } from './fair-queue.ts';
import type { CoapEndpoint, CoapExchange, CoapResponse, CoapTransport, EngineOptions, Observation } from './transport.ts';

export interface NodeCoapTransportOptions extends EngineOptions {
  /**
   * Bytes of replies node-coap keeps for duplicate detection (RFC 7252 §4.5). Its default (32 MiB
   * counted in a way that lets the cache grow to gigabytes under load) must not be used.
   */
  cacheSize: number;
}

/** Largest block node-coap serves (its Block2 code caps at 1024, SZX 6). */
const MAX_SZX = 6;
/** Requests remembered as in flight at most (each leaves when answered). */
const MAX_IN_FLIGHT = 100_000;
/**
 * An in-flight entry older than this is stale: node-coap answered it itself (a Block2 follow-up
 * from its cache) or dropped it. RFC 7252 §4.8.2: a sender gives up after MAX_TRANSMIT_WAIT (93 s),
 * but by then node-coap's exchange cache is what catches duplicates.
 */
const IN_FLIGHT_MS = 30_000;

type NodeRequest = IncomingMessage & { _packet: ParsedPacket; rsinfo: RemoteInfo };
type NodeResponse = OutgoingMessage & {
  code: string; setOption(name: string, value: Buffer): unknown; write?(chunk: Buffer): boolean;
  /** node-coap's parse of the request, which its `end()` reads Block2 from. */
  _request?: { options: Array<{ name: string | number; value: Buffer }> };
};

export function createNodeCoapTransport(opts: NodeCoapTransportOptions): CoapTransport {
  let socket: Socket | null = null;
  let server: ReturnType<typeof createServer> | null = null;
  const block1 = new Block1Reassembler(opts.block1);
  /** `address:port/mid` → Block1 value to echo in the final response (RFC 7959 §2.3). */
  const block1Echo = new Map<string, Buffer>();
  /**
   * `address:port/mid` → our own parse of a request handed to node-coap. node-coap converts option
   * values in place (Content-Format to a MIME string, Uri-Path to text …), so resources read ours.
   */
  const inFlight = new Map<string, { packet: ParsedPacket; at: number }>();
  const notifier = new Notifier({
    ackTimeoutMs: opts.ackTimeoutMs, maxRetransmit: opts.maxRetransmit, maxBlockSzx: MAX_SZX,
    send: (d, e) => sendTo(d, e.port, e.address),
    etagOf: nodeCoapEtag,
  });

  // Datagrams handed to the socket but not yet written: closing the socket drops them, and the
  // last ones matter (the 5.03 that ends each observation at shutdown), so close() waits for them.
  let unsent = 0;
  let flushed: (() => void) | null = null;
  const sendTo = (datagram: Buffer, port: number, address: string) => {
    if (socket === null) return;
    unsent++;
    socket.send(datagram, port, address, () => { if (--unsent === 0) flushed?.(); });
  };
  const send = (datagram: Buffer, r: RemoteInfo) => sendTo(datagram, r.port, r.address);
  /** The key of the request node-coap last delivered to `onRequest` (set synchronously). */
  let delivered: string | null = null;

  function onDatagram(datagram: Buffer, rinfo: RemoteInfo, forward: (m: Buffer, r: RemoteInfo) => void): void {
    let msg = datagram;
    try {
      const version = msg.length >= 4 ? msg[0]! >> 6 : 0;
      let packet: ParsedPacket;
      try {
        if (!isWellFormed(msg)) throw new Error('message format error');
        packet = parse(msg);
      } catch {
        // RFC 7252 §4.2: a malformed confirmable message is rejected with RST; §4.3: others ignored.
        if (version === 1 && (msg[0]! >> 4 & 3) === 0) send(Buffer.from([0x70, 0, msg[2]!, msg[3]!]), rinfo);
        return;
      }
      const endpoint = `${rinfo.address}:${rinfo.port}`;
      if (packet.code === '0.00') {
        if (packet.ack || packet.reset) {
          if (notifier.onEmpty({ address: rinfo.address, port: rinfo.port }, packet.messageId, packet.reset)) return;
          forward(msg, rinfo); // node-coap's own separate responses
        } else if (packet.confirmable) {
          send(Buffer.from([0x70, 0, msg[2]!, msg[3]!]), rinfo); // RFC 7252 §4.3: CoAP ping → RST
        }
        return;
      }
      if (!packet.code.startsWith('0.') || packet.ack || packet.reset) return; // responses are not expected here
      const screened = screenRequest(packet);
      if (screened.kind === 'drop') return;
      if (screened.kind === 'refuse') { send(reply(packet, screened.code, [], Buffer.from(screened.message)), rinfo); return; }
      if (screened.kind === 'rewrite') {
        packet = screened.packet;
        msg = generate(packet, msg.length + 64);
      }
      const key = `${endpoint}/${packet.messageId}`;
      // RFC 7252 §4.5: a duplicate of a request still being processed is not processed again; once
      // answered, node-coap's exchange cache replays the reply.
      const now = Date.now();
      const held = inFlight.get(key);
      if (held !== undefined && now - held.at < IN_FLIGHT_MS) return;
      const outcome = block1.handle(endpoint, msg, packet);
      if (outcome.kind === 'reply') { send(outcome.datagram, rinfo); return; }
      if (inFlight.size >= MAX_IN_FLIGHT) inFlight.delete(inFlight.keys().next().value!);
      inFlight.delete(key);
      if (outcome.kind === 'forward') {
        block1Echo.set(key, outcome.block1);
        inFlight.set(key, { packet: parse(outcome.datagram), at: now });
        delivered = null;
        forward(outcome.datagram, rinfo);
      } else {
        inFlight.set(key, { packet, at: now });
        delivered = null;
        forward(msg, rinfo);
      }
      // node-coap handles a datagram synchronously: when it did not reach `onRequest`, it was
      // answered from node-coap's caches (a duplicate, a Block2 follow-up) or refused there, and
      // must not be held as in flight (its retransmissions have to reach node-coap again).
      if (delivered !== key) { inFlight.delete(key); block1Echo.delete(key); }
    } catch (err) {
      opts.onError(err);
    }
  }

  function onRequest(req: NodeRequest, res: NodeResponse): void {
    const key = `${req.rsinfo.address}:${req.rsinfo.port}/${req._packet.messageId}`;
    delivered = key;
    const ours = inFlight.get(key)?.packet;
    if (ours === undefined) {
      opts.onError(new Error(`CoAP request ${key} reached node-coap without passing the adapter`));
      // Still answer (and so end node-coap's exchange): a response left open keeps its piggyback
      // timer, which throws once the socket is closed.
      res.code = '5.00';
      (res as { statusCode?: string }).statusCode = '5.00';
      res.end(diagnostic('internal', 'Request lost between parsers'));
      return;
    }
    const request = toRequest(ours, req.rsinfo);
    let answered = false;
    const prepare = (response: CoapResponse) => {
      if (answered) throw new Error('CoAP exchange answered twice');
      answered = true;
      res.code = response.code;
      // An Observe=0 GET is answered through node-coap's ObserveWriteStream, which sends
      // `statusCode`, not `code`: without this a refused registration went out as 2.05.
      (res as { statusCode?: string }).statusCode = response.code;
      if (response.contentFormat !== undefined) res.setOption('Content-Format', encodeUint(response.contentFormat));
      if (response.maxAge !== undefined) res.setOption('Max-Age', encodeUint(response.maxAge));
      const echo = block1Echo.get(key);
      if (echo !== undefined) { block1Echo.delete(key); res.setOption('Block1', echo); }
      return Buffer.from(response.payload.buffer, response.payload.byteOffset, response.payload.byteLength);
    };
    /** One write to an ObserveWriteStream, block-wise when the payload is over one block. */
    const writeFirstBlock = (out: NodeResponse, payload: Buffer) => {
      const block2 = ours.options.find((o) => String(o.name) === 'Block2');
      const requested = block2 === undefined ? null : parseBlock(block2.value);
      const szx = Math.min(MAX_SZX, requested?.szx ?? MAX_SZX);
      if (payload.length > 1 << (szx + 4)) {
        // RFC 7959 §2.6 via the normal Block2 path: the first block now, the client GETs the rest.
        out.setOption('ETag', nodeCoapEtag(payload));
        out.setOption('Block2', encodeUint(0 * 16 + 8 + szx));
        out.setOption('Size2', encodeUint(payload.length));
        out.write!(payload.subarray(0, 1 << (szx + 4)));
      } else {
        out.write!(payload);
      }
    };
    const exchange: CoapExchange = {
      request,
      respond(answer) {
        // A handler finishing after close (its commit was in flight): node-coap's socket is gone,
        // and the client gets no answer, as from any stopped server.
        if (server === null) { inFlight.delete(key); return; }
        const response = request.observe === 0 ? answer : pastTheEnd(ours, answer, res);
        const payload = prepare(response);
        if (request.observe === 0) {
          // node-coap answers an Observe=0 GET with an ObserveWriteStream, whose write() adds an
          // Observe option. Answered without accepting (not observable, observer cap reached), the
          // reply must carry none (RFC 7641 §4.1: then it is a plain GET response), so the
          // stream's Observe option is suppressed; one write ends it (its 'finish' sends nothing more).
          const setOption = res.setOption.bind(res);
          res.setOption = (name: string, value: Buffer) => (name === 'Observe' ? res : setOption(name, value));
          writeFirstBlock(res, payload);
          res.end();
        } else {
          // OutMessage.end serves Block2 (RFC 7959 §2.4) when the payload is over one block.
          res.end(payload);
        }
        inFlight.delete(key);
      },
      accept(response): Observation {
        if (server === null) {
          inFlight.delete(key);
          const ended = notifier.open(request.endpoint, ours.token, 1);
          ended.end();
          return ended;
        }
        const payload = prepare(response);
        // node-coap's ObserveWriteStream numbers this first reply Observe=1 and piggybacks it;
        // later notifications are ours (notifier.ts), continuing from that sequence number.
        writeFirstBlock(res, payload);
        inFlight.delete(key);
        return notifier.open(request.endpoint, ours.token, 1);
      },
    };
    handler(exchange);
  }

  let handler: (exchange: CoapExchange) => void = () => {};
  let fair: FairQueue<[Buffer, RemoteInfo]> | null = null;

  return {
    async listen(host, port, h) {
      handler = h;
      const sock = await bindExclusive(host, port);
      const srv = createServer({ cacheSize: opts.cacheSize, piggybackReplyMs: opts.piggybackMs });
      srv.on('request', (req, res) => {
        try { onRequest(req as NodeRequest, res as NodeResponse); } catch (err) { opts.onError(err); }
      });
      srv.on('error', (err) => opts.onError(err));
      srv.listen(sock);
      // Take the socket's datagrams from node-coap and give them to it through `onDatagram`.
      sock.removeAllListeners('message');
      const forward = srv.handleRequest();
      // Datagrams still queued when the server closes are dropped, not handed to a closed node-coap.
      fair = new FairQueue<[Buffer, RemoteInfo]>(([m, r]) => { if (server !== null) onDatagram(m, r, forward); }, DATAGRAM_FAIRNESS);
      sock.on('message', (m, r) => { if (server !== null) fair?.push(`${r.address}:${r.port}`, [m, r]); });
      sock.on('error', (err) => opts.onError(err));
      socket = sock;
      server = srv;
      return sock.address().port;
    },
    async close() {
      notifier.close();
      fair?.clear();
      server?.close();
      const sock = socket;
      socket = null;
      server = null;
      if (unsent > 0) await new Promise<void>((resolve) => { flushed = resolve; setTimeout(resolve, 250).unref(); });
      if (sock !== null) await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

/**
 * A Block2 request for a block past the end of the reply (RFC 7959 §2.2): node-coap's `end()`
 * would set 4.02 and drop the payload, and a code set by us would override it (an empty 2.05).
 * A success becomes 4.02 with a diagnostic, an error stays itself; either goes out whole, with
 * Block2 hidden from node-coap (a diagnostic is at most 200 bytes).
 */
function pastTheEnd(request: ParsedPacket, response: CoapResponse, res: NodeResponse): CoapResponse {
  const option = request.options.find((o) => String(o.name) === 'Block2');
  const block = option === undefined ? null : parseBlock(option.value);
  const length = response.payload.length;
  if (block === null || length === 0 || block.num * blockSize(Math.min(block.szx, MAX_SZX)) < length) return response;
  if (res._request !== undefined) res._request.options = res._request.options.filter((o) => String(o.name) !== 'Block2');
  if (!response.code.startsWith('2.')) return response;
  return { code: '4.02', payload: diagnostic('invalid_request', `Block2 block ${block.num} is past the end of the ${length}-byte reply`) };
}

/** node-coap's Block2 ETag (a 2-byte XOR of the payload), so an Observe first block matches the rest. */
function nodeCoapEtag(payload: Uint8Array): Buffer {
  const id = Buffer.of(0, 0);
  for (let i = 0; i < payload.length; i += 2) {
    id[0] = id[0]! ^ payload[i]!;
    id[1] = id[1]! ^ (payload[i + 1] ?? 0);
  }
  return id;
}
