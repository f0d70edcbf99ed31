/**
 * Block1 (RFC 7959 §2.5) reassembly in front of node-coap.
 *
 * The bug it fixes: node-coap keys an upload's blocks by request token. RFC 7959 does not require
 * one token per transfer, and libcoap 4.3 sends each block with a new token, tying them together
 * with Request-Tag (RFC 9175 §3, option 292). node-coap then sees every block as the start of a
 * new transfer and fails with "5.00 Byte offset not the next in line".
 *
 * The fix: every datagram passes here first. A request with Block1 is reassembled by
 * (endpoint, Uri-Path, Request-Tag — or the token when the client sends no Request-Tag), in order,
 * with a size bound (4.13 + Size1) and a time bound (abandoned transfers are dropped). Every
 * non-final block is answered 2.31 Continue here. The final block is handed on as one ordinary
 * request carrying the whole body (and Block1 rewritten to NUM 0, M 0, so node-coap's own
 * reassembly is a no-op); the transport echoes the client's real final Block1 in the response.
 * The rewritten datagram is remembered by message id, so a retransmitted final block is answered
 * from node-coap's exchange cache rather than applied twice.
 */
import { generate, parse } from 'coap-packet';
import type { ErrorCode } from '../../src/errors.ts';
import { diagnostic } from './errors.ts';
import type { Packet, ParsedPacket } from 'coap-packet';
import { blockSize, encodeBlock, encodeUint, parseBlock, REQUEST_TAG } from './options.ts';
import type { BlockOption } from './options.ts';

export interface Block1Options {
  /** Largest reassembled body (bytes): over it the upload is refused with 4.13 and Size1. */
  maxBytes: number;
  /** Transfers in progress at most (oldest dropped first). */
  maxTransfers: number;
  /** A transfer idle longer than this is dropped (RFC 7959 §2.4 leaves the bound to the server). */
  idleMs: number;
  now?: () => number;
}

/** What to do with one datagram. */
export type Block1Outcome =
  | { kind: 'pass' }
  /** Answer with this datagram (2.31 Continue, or an error). */
  | { kind: 'reply'; datagram: Buffer }
  /** Hand this (reassembled) datagram on; echo `block1` in its response. */
  | { kind: 'forward'; datagram: Buffer; block1: Buffer };

interface Transfer { chunks: Buffer[]; received: number; touched: number }

const optionName = (o: { name: string | number }) => String(o.name);

export class Block1Reassembler {
  readonly #opts: Required<Block1Options>;
  readonly #transfers = new Map<string, Transfer>();
  /** `endpoint/mid` → the reassembled datagram and the final Block1, for retransmissions. */
  readonly #completed = new Map<string, { datagram: Buffer; block1: Buffer; at: number }>();

  constructor(opts: Block1Options) {
    this.#opts = { now: () => Date.now(), ...opts };
  }

  get transfers(): number { return this.#transfers.size; }

  /** `packet` is the parsed `raw` request from `endpoint` (`address:port`). */
  handle(endpoint: string, raw: Buffer, packet: ParsedPacket): Block1Outcome {
    const opt = packet.options.find((o) => optionName(o) === 'Block1');
    if (opt === undefined) return { kind: 'pass' };
    const now = this.#opts.now();
    this.#expire(now);
    const done = this.#completed.get(`${endpoint}/${packet.messageId}`);
    if (done !== undefined) return { kind: 'forward', datagram: done.datagram, block1: done.block1 };

    const block = parseBlock(opt.value);
    if (block === null) return this.#error(packet, '4.00', 'invalid_request', 'Malformed Block1 option');
    const size = blockSize(block.szx);
    const offset = block.num * size;
    const key = transferKey(endpoint, packet);
    let t = this.#transfers.get(key);
    if (block.num === 0) {
      t = { chunks: [], received: 0, touched: now };
      this.#transfers.delete(key);
      if (block.more) this.#admit(key, t);
    }
    if (t === undefined) {
      // RFC 7959 §2.9.2: a block of a transfer the server does not hold is 4.08 Request Entity Incomplete.
      return this.#error(packet, '4.08', 'invalid_request', 'Block1 transfer unknown or expired: start again at block 0');
    }
    // RFC 7959 §2.3: a non-final block carries exactly one block of payload.
    if (block.more && packet.payload.length !== size) {
      this.#transfers.delete(key);
      return this.#error(packet, '4.00', 'invalid_request', `Block1 block ${block.num} must carry ${size} bytes`);
    }
    if (offset + packet.payload.length <= t.received && block.num > 0) {
      // A block we already hold (a retransmission with a new message id): acknowledge it again.
      return block.more ? { kind: 'reply', datagram: this.#continue(packet, block) } : this.#error(packet, '4.08', 'invalid_request', 'Block1 final block repeated');
    }
    if (offset !== t.received) {
      this.#transfers.delete(key);
      return this.#error(packet, '4.08', 'invalid_request', `Block1 block ${block.num} out of order: expected byte offset ${t.received}`);
    }
    if (t.received + packet.payload.length > this.#opts.maxBytes) {
      this.#transfers.delete(key);
      // RFC 7959 §2.9.3 and §4: 4.13 with Size1 telling the largest body accepted.
      return this.#error(packet, '4.13', 'too_large', `Body over ${this.#opts.maxBytes} bytes`, [{ name: 'Size1', value: encodeUint(this.#opts.maxBytes) }]);
    }
    t.chunks.push(packet.payload);
    t.received += packet.payload.length;
    t.touched = now;
    if (block.more) return { kind: 'reply', datagram: this.#continue(packet, block) };

    this.#transfers.delete(key);
    const body = Buffer.concat(t.chunks);
    const echo = encodeBlock({ num: block.num, more: false, szx: block.szx });
    const options = packet.options.filter((o) => optionName(o) !== 'Block1');
    // Never the empty form of NUM 0, SZX 0 (RFC 7252 §3.2): node-coap cannot read it and answers 5.00.
    options.push({ name: 'Block1', value: Buffer.of(block.szx) });
    const datagram = generate({ ...packet, options, payload: body } as Packet, body.length + raw.length + 64);
    this.#completed.set(`${endpoint}/${packet.messageId}`, { datagram, block1: echo, at: now });
    return { kind: 'forward', datagram, block1: echo };
  }

  #admit(key: string, t: Transfer): void {
    // Oldest first: a Map iterates in insertion order, and every admit re-inserts.
    while (this.#transfers.size >= this.#opts.maxTransfers) this.#transfers.delete(this.#transfers.keys().next().value!);
    this.#transfers.set(key, t);
  }

  #expire(now: number): void {
    for (const [k, t] of this.#transfers) if (now - t.touched > this.#opts.idleMs) this.#transfers.delete(k);
    for (const [k, c] of this.#completed) {
      if (now - c.at <= this.#opts.idleMs && this.#completed.size <= this.#opts.maxTransfers) break;
      this.#completed.delete(k);
    }
  }

  /** RFC 7959 §2.3: 2.31 Continue echoes the block (M=1) so the client sends the next one. */
  #continue(packet: ParsedPacket, block: BlockOption): Buffer {
    return reply(packet, '2.31', [{ name: 'Block1', value: encodeBlock({ num: block.num, more: true, szx: block.szx }) }], Buffer.alloc(0));
  }

  #error(packet: ParsedPacket, coapCode: string, code: ErrorCode, message: string, options: Packet['options'] = []): Block1Outcome {
    return { kind: 'reply', datagram: reply(packet, coapCode, options, diagnostic(code, message)) };
  }
}

function transferKey(endpoint: string, packet: ParsedPacket): string {
  const path = packet.options.filter((o) => optionName(o) === 'Uri-Path').map((o) => o.value.toString('hex')).join('/');
  const tag = packet.options.find((o) => optionName(o) === String(REQUEST_TAG));
  // RFC 9175 §3.3: blocks with the same Request-Tag (or none) from one endpoint to one resource
  // belong to one operation; without a Request-Tag we also require the same token, as node-coap does.
  const id = tag !== undefined ? `tag:${tag.value.toString('hex')}` : `tok:${packet.token.toString('hex')}`;
  return `${endpoint}|${path}|${id}`;
}

/** A piggybacked (ACK) reply to a CON request, a NON reply to a NON one (RFC 7252 §5.2). */
export function reply(packet: ParsedPacket, code: string, options: Packet['options'], payload: Buffer): Buffer {
  const out: Packet = {
    code, token: packet.token, options, payload,
    ...(packet.confirmable ? { ack: true, messageId: packet.messageId } : { confirmable: false }),
  };
  return generate(out);
}
