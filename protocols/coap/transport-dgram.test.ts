/**
 * The lean CoAP engine over real UDP sockets on 127.0.0.1: a raw `coap-packet` client on one side
 * (it sees every datagram as sent, and can send duplicates, garbage and RSTs), a handler the test
 * drives on the other. Waits use deadlines; "nothing arrives" is checked either behind a barrier
 * (a CoAP ping from the same client: datagrams of one endpoint are handled in order, so its RST
 * comes after anything the earlier ones caused) or, where only time tells, over a short window.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { generate, parse } from 'coap-packet';
import type { Packet, ParsedPacket } from 'coap-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeUint, encodeBlock, encodeUint, parseBlock } from './options.ts';
import { createDgramTransport } from './transport-dgram.ts';
import type { DgramTransportOptions } from './transport-dgram.ts';
import type { CoapExchange, CoapResponse, CoapTransport, ObservationEnd } from './transport.ts';

const HOST = '127.0.0.1';

// ---- the raw client ----

interface Received { raw: Buffer; packet: ParsedPacket }

class Client {
  readonly received: Received[] = [];
  readonly port: number;
  #waiters: Array<() => void> = [];
  #closed = false;

  private constructor(readonly socket: Socket, readonly serverPort: number) {
    this.port = socket.address().port;
    socket.on('message', (raw) => {
      try { this.received.push({ raw, packet: parse(raw) }); } catch { /* not CoAP */ }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(serverPort: number): Promise<Client> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, HOST, () => resolve()));
    const c = new Client(socket, serverPort);
    clients.push(c);
    return c;
  }

  send(datagram: Buffer): void { this.socket.send(datagram, this.serverPort, HOST); }

  /** Removes and returns the first datagram matching `test`, waiting up to `timeoutMs`. */
  async next(test: (p: ParsedPacket) => boolean, what: string, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((r) => test(r.packet));
      if (i >= 0) return this.received.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${describeAll(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** Waits `ms` and returns whatever arrived meanwhile (and what was queued before), removing it. */
  async drainFor(ms: number): Promise<Received[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.received.splice(0);
  }

  /**
   * A CoAP ping and its RST: the server handles one endpoint's datagrams in order, so once the
   * RST is here, everything sent before it has been handled and its answers are queued here.
   */
  async barrier(): Promise<void> {
    const mid = freshMid();
    this.send(Buffer.from([0x40, 0x00, mid >> 8, mid & 255]));
    await this.next((p) => p.reset && p.messageId === mid, 'the RST to a barrier ping');
  }

  ack(mid: number): void { this.send(generate({ code: '0.00', ack: true, messageId: mid, token: Buffer.alloc(0) })); }
  reset(mid: number): void { this.send(generate({ code: '0.00', reset: true, messageId: mid, token: Buffer.alloc(0) })); }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

const describeAll = (rs: Received[]) => JSON.stringify(rs.map(({ packet: p }) => ({ code: p.code, mid: p.messageId, ack: p.ack, con: p.confirmable, rst: p.reset, token: p.token.toString('hex') })));

let midCounter = Math.floor(Math.random() * 30_000);
const freshMid = () => (midCounter = (midCounter + 1) % 65_536);
let tokenCounter = 0x1000;
const freshToken = () => { const t = Buffer.alloc(4); t.writeUInt32BE(tokenCounter++); return t; };

interface Spec {
  code?: string;
  path?: string;
  query?: string[];
  confirmable?: boolean;
  mid?: number;
  token?: Buffer;
  observe?: number;
  block2?: { num: number; szx: number };
  options?: Array<{ name: string; value: Buffer }>;
  payload?: Buffer;
}

function request(spec: Spec = {}): { datagram: Buffer; mid: number; token: Buffer } {
  const mid = spec.mid ?? freshMid();
  const token = spec.token ?? freshToken();
  const options: Array<{ name: string; value: Buffer }> = [];
  if (spec.observe !== undefined) options.push({ name: 'Observe', value: encodeUint(spec.observe) });
  for (const seg of (spec.path ?? '/t/x').split('/').filter((s) => s !== '')) options.push({ name: 'Uri-Path', value: Buffer.from(seg) });
  for (const q of spec.query ?? []) options.push({ name: 'Uri-Query', value: Buffer.from(q) });
  if (spec.block2 !== undefined) options.push({ name: 'Block2', value: encodeBlock({ num: spec.block2.num, more: false, szx: spec.block2.szx }) });
  options.push(...(spec.options ?? []));
  const packet: Packet = { code: spec.code ?? 'GET', confirmable: spec.confirmable ?? true, messageId: mid, token, options, payload: spec.payload ?? Buffer.alloc(0) };
  return { datagram: generate(packet, 4096), mid, token };
}

const opt = (p: ParsedPacket, name: string): Buffer | undefined => p.options.find((o) => String(o.name) === name)?.value;
const uintOpt = (p: ParsedPacket, name: string): number | undefined => { const v = opt(p, name); return v === undefined ? undefined : decodeUint(v); };
const block2Of = (p: ParsedPacket) => { const v = opt(p, 'Block2'); return v === undefined ? undefined : parseBlock(v); };
const text = (s: string) => new TextEncoder().encode(s);

/** Polls `check` until it holds, up to `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- the server side ----

interface Server {
  transport: CoapTransport;
  port: number;
  /** Every exchange the handler was given, in order. */
  exchanges: CoapExchange[];
  errors: unknown[];
}

const clients: Client[] = [];
const transports: CoapTransport[] = [];
const sockets: Socket[] = [];
const allErrors: unknown[][] = [];

/** A transport on an ephemeral port whose handler calls `behaviour` (default: hold the exchange, answer nothing). */
async function start(behaviour: (ex: CoapExchange) => void = () => {}, over: Partial<DgramTransportOptions> = {}): Promise<Server> {
  const errors: unknown[] = [];
  allErrors.push(errors);
  const transport = createDgramTransport({
    cacheBytes: 1 << 20,
    // Long enough that no test sees a separate response unless it asks for one.
    piggybackMs: 10_000,
    block1: { maxBytes: 64 * 1024, maxTransfers: 16, idleMs: 10_000 },
    ackTimeoutMs: 2000,
    maxRetransmit: 4,
    onError: (err) => errors.push(err),
    ...over,
  });
  transports.push(transport);
  const exchanges: CoapExchange[] = [];
  const port = await transport.listen(HOST, 0, (ex) => { exchanges.push(ex); behaviour(ex); });
  return { transport, port, exchanges, errors };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  const errors = allErrors.splice(0).flat();
  expect(errors, 'onError').toEqual([]);
});

const ok = (payload: string, contentFormat?: number): CoapResponse => ({ code: '2.05', payload: text(payload), ...(contentFormat === undefined ? {} : { contentFormat }) });

describe('createDgramTransport: message layer (RFC 7252 §4, §5.2)', () => {
  it('answers a CON request piggybacked on the ACK: same message id and token, the handler\'s code, format and payload', async () => {
    const s = await start((ex) => ex.respond({ code: '2.05', contentFormat: 50, maxAge: 30, payload: text('{"temp":21}') }));
    const c = await Client.open(s.port);
    const req = request({ path: '/t/dev-1/desired', query: ['a=1', 'b'] });
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the piggybacked reply');
    expect(res).toMatchObject({ code: '2.05', ack: true, confirmable: false, reset: false, messageId: req.mid });
    expect(res.token.equals(req.token)).toBe(true);
    expect(uintOpt(res, 'Content-Format')).toBe(50);
    expect(uintOpt(res, 'Max-Age')).toBe(30);
    expect(res.payload.toString()).toBe('{"temp":21}');
    expect(opt(res, 'Block2')).toBeUndefined();
    // The request as the handler saw it.
    expect(s.exchanges).toHaveLength(1);
    expect(s.exchanges[0]!.request).toMatchObject({
      method: 'GET', path: ['t', 'dev-1', 'desired'], query: ['a=1', 'b'], confirmable: true, observe: undefined,
      token: req.token.toString('hex'), endpoint: { address: HOST, port: c.port },
    });
  });

  it('answers a NON request with a NON reply: a new message id, the same token', async () => {
    const s = await start((ex) => ex.respond(ok('hello', 0)));
    const c = await Client.open(s.port);
    // coap-packet numbers the server's messages from a counter shared with this process: read it
    // (one id used) and pick the request's id far from it, so "a new id" is not left to chance.
    const counter = parse(generate({ code: '0.00', token: Buffer.alloc(0) })).messageId;
    const req = request({ confirmable: false, mid: (counter + 30_000) % 65_536 });
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the NON reply');
    expect(res).toMatchObject({ code: '2.05', ack: false, confirmable: false, reset: false });
    expect(res.messageId).not.toBe(req.mid);
    expect(res.payload.toString()).toBe('hello');
    expect(s.exchanges[0]!.request.confirmable).toBe(false);
  });

  it('does not hand a duplicate in flight to the handler again; once answered, a duplicate gets the byte-identical reply', async () => {
    const s = await start();
    const c = await Client.open(s.port);
    const req = request({ code: 'PUT', path: '/t/a/reported', payload: Buffer.from('{"x":1}') });
    c.send(req.datagram);
    await until(() => s.exchanges.length === 1, 'the handler to get the request');
    c.send(req.datagram); // RFC 7252 §4.5: a retransmission while the first is still handled
    await c.barrier();
    expect(c.received, 'a reply to a duplicate in flight').toEqual([]);
    expect(s.exchanges).toHaveLength(1);

    s.exchanges[0]!.respond({ code: '2.04', payload: text('') });
    const first = await c.next((p) => p.token.equals(req.token), 'the reply');
    expect(first.packet).toMatchObject({ code: '2.04', ack: true, messageId: req.mid });
    c.send(req.datagram);
    c.send(req.datagram);
    const again = await c.next((p) => p.token.equals(req.token), 'the reply to the duplicate');
    const third = await c.next((p) => p.token.equals(req.token), 'the reply to the second duplicate');
    expect(again.raw.equals(first.raw)).toBe(true);
    expect(third.raw.equals(first.raw)).toBe(true);
    await c.barrier();
    expect(s.exchanges, 'the handler ran once').toHaveLength(1);
    // The same message id from another endpoint is another request (§4.5: the key includes the endpoint).
    const other = await Client.open(s.port);
    other.send(req.datagram);
    await until(() => s.exchanges.length === 2, 'the handler to get the other endpoint\'s request');
    s.exchanges[1]!.respond({ code: '2.04', payload: text('') });
    await other.next((p) => p.token.equals(req.token), 'the reply to the other endpoint');
  });

  it('sends an empty ACK for a slow handler, then the answer as a separate CON response, retransmitted until ACKed (§5.2.2)', async () => {
    const s = await start(() => {}, { piggybackMs: 30, ackTimeoutMs: 100, maxRetransmit: 3 });
    const c = await Client.open(s.port);
    const req = request({ path: '/t/slow' });
    c.send(req.datagram);
    await until(() => s.exchanges.length === 1, 'the handler to get the request');
    const empty = await c.next((p) => p.messageId === req.mid, 'the empty ACK');
    expect(empty.packet).toMatchObject({ code: '0.00', ack: true, messageId: req.mid });
    expect(empty.raw).toHaveLength(4);
    // A retransmitted request after the empty ACK gets the empty ACK again, and is not handled again.
    c.send(req.datagram);
    const emptyAgain = await c.next((p) => p.messageId === req.mid, 'the empty ACK again');
    expect(emptyAgain.raw.equals(empty.raw)).toBe(true);
    expect(s.exchanges).toHaveLength(1);

    s.exchanges[0]!.respond({ code: '2.05', contentFormat: 0, payload: text('late') });
    const sep = await c.next((p) => p.token.equals(req.token) && p.code !== '0.00', 'the separate response');
    expect(sep.packet).toMatchObject({ code: '2.05', confirmable: true, ack: false });
    expect(sep.packet.messageId).not.toBe(req.mid);
    expect(sep.packet.payload.toString()).toBe('late');
    expect(uintOpt(sep.packet, 'Content-Format')).toBe(0);
    // Not ACKed: retransmitted, the same datagram.
    const again = await c.next((p) => p.messageId === sep.packet.messageId, 'a retransmission of the separate response');
    expect(again.raw.equals(sep.raw)).toBe(true);
    c.ack(sep.packet.messageId);
    await c.barrier();
    // With the ACK in, no more: the next retransmission would have come 200–300 ms after the last.
    const later = await c.drainFor(700);
    expect(later.filter((r) => r.packet.messageId === sep.packet.messageId), 'retransmissions after the ACK').toEqual([]);
    // The original request still gets its empty ACK.
    c.send(req.datagram);
    expect((await c.next((p) => p.messageId === req.mid, 'the empty ACK, late')).raw.equals(empty.raw)).toBe(true);
  });

  it('stops retransmitting a separate response after maxRetransmit', async () => {
    const s = await start(() => {}, { piggybackMs: 30, ackTimeoutMs: 50, maxRetransmit: 2 });
    const c = await Client.open(s.port);
    const req = request();
    c.send(req.datagram);
    await c.next((p) => p.messageId === req.mid && p.code === '0.00', 'the empty ACK');
    s.exchanges[0]!.respond(ok('late'));
    const first = await c.next((p) => p.token.equals(req.token), 'the separate response');
    expect(first.packet.confirmable).toBe(true);
    const copies = [first];
    for (let i = 0; i < 2; i++) copies.push(await c.next((p) => p.messageId === first.packet.messageId, `retransmission ${i + 1}`));
    expect(copies.every((r) => r.raw.equals(first.raw))).toBe(true);
    // 1 + MAX_RETRANSMIT transmissions, then the server gives up (the last wait is at most 300 ms).
    const more = await c.drainFor(500);
    expect(more.filter((r) => r.packet.messageId === first.packet.messageId)).toEqual([]);
  });

  it('sends no empty ACK to a slow NON request, and its late answer as NON', async () => {
    const s = await start(() => {}, { piggybackMs: 30 });
    const c = await Client.open(s.port);
    const req = request({ confirmable: false });
    c.send(req.datagram);
    await until(() => s.exchanges.length === 1, 'the handler to get the request');
    const early = await c.drainFor(150);
    expect(early, 'an empty ACK to a NON').toEqual([]);
    s.exchanges[0]!.respond(ok('late'));
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the late NON reply');
    expect(res).toMatchObject({ code: '2.05', confirmable: false, ack: false });
  });

  it('answers a CoAP ping and a malformed CON with RST, ignores a malformed NON, and calls the handler for none', async () => {
    const s = await start((ex) => ex.respond(ok('x')));
    const c = await Client.open(s.port);
    const ping = freshMid();
    c.send(Buffer.from([0x40, 0x00, ping >> 8, ping & 255]));
    const rst = await c.next((p) => p.messageId === ping, 'the RST to a ping');
    expect(rst.packet).toMatchObject({ code: '0.00', reset: true, messageId: ping });
    expect(rst.raw).toHaveLength(4);

    // Token length 9 (RFC 7252 §3: 9–15 are a message format error), confirmable then not.
    const bad = freshMid();
    c.send(Buffer.from([0x49, 0x01, bad >> 8, bad & 255, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const badRst = await c.next((p) => p.messageId === bad, 'the RST to a malformed CON');
    expect(badRst.packet).toMatchObject({ code: '0.00', reset: true });
    expect(badRst.raw).toHaveLength(4);
    // An option running past the end, confirmable: RST too.
    const bad2 = freshMid();
    c.send(Buffer.from([0x40, 0x01, bad2 >> 8, bad2 & 255, 0xbd, 0x05]));
    expect((await c.next((p) => p.messageId === bad2, 'the RST to a truncated option')).packet.reset).toBe(true);

    const badNon = freshMid();
    c.send(Buffer.from([0x59, 0x01, badNon >> 8, badNon & 255, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    c.send(Buffer.from([0x50, 0x01, 0x00])); // a NON too short for a header
    const emptyNon = freshMid();
    c.send(Buffer.from([0x50, 0x00, emptyNon >> 8, emptyNon & 255])); // an empty NON: nothing to answer
    await c.barrier();
    expect(c.received, 'answers to a malformed NON or an empty NON').toEqual([]);
    expect(s.exchanges).toHaveLength(0);
  });

  it('rejects a confirmable response it never asked for with RST and ignores a NON one (§4.2, §4.3)', async () => {
    const s = await start((ex) => ex.respond(ok('x')));
    const c = await Client.open(s.port);
    const con = freshMid();
    c.send(Buffer.from([0x40, 0x45, con >> 8, con & 255])); // CON 2.05, no token
    const rst = await c.next((p) => p.messageId === con, 'the RST to an unexpected CON response');
    expect(rst.packet).toMatchObject({ code: '0.00', reset: true, messageId: con });
    const non = freshMid();
    c.send(Buffer.from([0x50, 0x45, non >> 8, non & 255]));
    await c.barrier();
    expect(c.received.filter((r) => r.packet.messageId === non)).toEqual([]);
    expect(s.exchanges).toHaveLength(0);
  });

  it('refuses a method other than GET, POST, PUT, DELETE with 4.05 without calling the handler (§5.8)', async () => {
    const s = await start((ex) => ex.respond(ok('x')));
    const c = await Client.open(s.port);
    const fetch = request({ code: '0.05' });
    c.send(fetch.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(fetch.token), 'the 4.05');
    expect(res).toMatchObject({ code: '4.05', ack: true, messageId: fetch.mid });
    expect(res.payload.length).toBeGreaterThan(0);
    const nonFetch = request({ code: '0.05', confirmable: false });
    c.send(nonFetch.datagram);
    expect((await c.next((p) => p.token.equals(nonFetch.token), 'the NON 4.05')).packet).toMatchObject({ code: '4.05', confirmable: false, ack: false });
    expect(s.exchanges).toHaveLength(0);
  });

  it('throws on a second answer to one exchange, and sends only the first', async () => {
    const thrown: unknown[] = [];
    const s = await start((ex) => {
      ex.respond(ok('first'));
      try { ex.respond(ok('second')); } catch (err) { thrown.push(err); }
      try { ex.accept(ok('third')); } catch (err) { thrown.push(err); }
    });
    const c = await Client.open(s.port);
    const req = request();
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the reply');
    expect(res.payload.toString()).toBe('first');
    expect(thrown).toHaveLength(2);
    expect(thrown.every((e) => e instanceof Error && /answered twice/.test(e.message))).toBe(true);
    await c.barrier();
    expect(c.received).toEqual([]);
  });
});

describe('createDgramTransport: Block2 (RFC 7959 §2.4)', () => {
  const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + (i >> 8)) & 255));
  const big = async () => start((ex) => {
    if (ex.request.path[0] === 'missing') ex.respond({ code: '4.04', contentFormat: 0, payload: text('not_found: no such twin') });
    else ex.respond({ code: '2.05', contentFormat: 60, payload: body });
  });

  it('serves a 3000-byte reply in 1024-byte blocks with ETag and Size2, and any block asked for', async () => {
    const s = await big();
    const c = await Client.open(s.port);
    const get = async (spec: Spec) => {
      const req = request(spec);
      c.send(req.datagram);
      return (await c.next((p) => p.token.equals(req.token), `the reply to ${JSON.stringify(spec.block2 ?? 'a plain GET')}`)).packet;
    };

    const first = await get({});
    expect(first).toMatchObject({ code: '2.05', ack: true });
    expect(block2Of(first)).toEqual({ num: 0, more: true, szx: 6 });
    expect(first.payload.equals(body.subarray(0, 1024))).toBe(true);
    expect(uintOpt(first, 'Size2')).toBe(3000);
    expect(uintOpt(first, 'Content-Format')).toBe(60);
    const etag = opt(first, 'ETag');
    expect(etag?.length).toBeGreaterThan(0);

    const last = await get({ block2: { num: 2, szx: 6 } });
    expect(last.code).toBe('2.05');
    expect(block2Of(last)).toEqual({ num: 2, more: false, szx: 6 });
    expect(last.payload.equals(body.subarray(2048))).toBe(true);
    expect(last.payload).toHaveLength(952);
    expect(opt(last, 'ETag')?.equals(etag!)).toBe(true);

    const middle = await get({ block2: { num: 1, szx: 6 } });
    expect(block2Of(middle)).toEqual({ num: 1, more: true, szx: 6 });
    expect(Buffer.concat([first.payload, middle.payload, last.payload]).equals(body)).toBe(true);

    // A client asking for smaller blocks (SZX 2: 64 bytes) gets them.
    const small = await get({ block2: { num: 1, szx: 2 } });
    expect(block2Of(small)).toEqual({ num: 1, more: true, szx: 2 });
    expect(small.payload.equals(body.subarray(64, 128))).toBe(true);
    expect(opt(small, 'ETag')?.equals(etag!)).toBe(true);

    // Every Block2 request is handled afresh (stateless slicing).
    expect(s.exchanges).toHaveLength(4);
  });

  it('answers a block past the end with 4.02 and a diagnostic, without Block2', async () => {
    const s = await big();
    const c = await Client.open(s.port);
    const req = request({ block2: { num: 5, szx: 6 } });
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the 4.02');
    expect(res).toMatchObject({ code: '4.02', ack: true, messageId: req.mid });
    expect(res.payload.toString()).toMatch(/past the end/);
    expect(opt(res, 'Block2')).toBeUndefined();
    expect(opt(res, 'Size2')).toBeUndefined();
  });

  it('labels the 4.02 diagnostic as a diagnostic, not with the Content-Format of the body it replaced (RFC 7252 §5.5.2)', async () => {
    // The handler's 2.05 said Content-Format 60 (CBOR); the 4.02 payload is UTF-8 text, so it must
    // carry no Content-Format (a diagnostic) rather than claim to be CBOR.
    const s = await big();
    const c = await Client.open(s.port);
    const req = request({ block2: { num: 5, szx: 6 } });
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the 4.02');
    expect(res.code).toBe('4.02');
    expect(uintOpt(res, 'Content-Format')).toBeUndefined();
  });

  it('sends an error reply whole, without Block2, whatever block was asked for', async () => {
    const s = await big();
    const c = await Client.open(s.port);
    for (const block2 of [{ num: 0, szx: 0 }, { num: 3, szx: 6 }]) {
      const req = request({ path: '/missing', block2 });
      c.send(req.datagram);
      const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the 4.04');
      expect(res.code).toBe('4.04');
      expect(res.payload.toString()).toBe('not_found: no such twin');
      expect(opt(res, 'Block2')).toBeUndefined();
      expect(opt(res, 'ETag')).toBeUndefined();
    }
  });

  it('reassembles a Block1 upload, answering 2.31 per block and echoing the final Block1 (RFC 7959 §2.5)', async () => {
    const s = await start((ex) => ex.respond({ code: '2.04', payload: text(String(ex.request.payload.length)) }));
    const c = await Client.open(s.port);
    const upload = Buffer.alloc(40, 'u');
    const token = freshToken();
    const put = async (num: number, more: boolean, chunk: Buffer) => {
      const req = request({ code: 'PUT', path: '/t/a/reported', token, options: [{ name: 'Block1', value: encodeBlock({ num, more, szx: 0 }) }], payload: chunk });
      c.send(req.datagram);
      return (await c.next((p) => p.messageId === req.mid && p.ack, `the reply to block ${num}`)).packet;
    };
    const r0 = await put(0, true, upload.subarray(0, 16));
    const r1 = await put(1, true, upload.subarray(16, 32));
    expect([r0.code, r1.code]).toEqual(['2.31', '2.31']);
    expect(s.exchanges).toHaveLength(0);
    const done = await put(2, false, upload.subarray(32));
    expect(done.code).toBe('2.04');
    expect(parseBlock(opt(done, 'Block1')!)).toEqual({ num: 2, more: false, szx: 0 });
    expect(s.exchanges).toHaveLength(1);
    expect(Buffer.from(s.exchanges[0]!.request.payload).equals(upload)).toBe(true);
    expect(done.payload.toString()).toBe('40');
  });
});

describe('createDgramTransport: Observe (RFC 7641)', () => {
  it('accepts a registration with Observe=1, notifies with the next sequence number, and ends the relation on RST', async () => {
    const ends: ObservationEnd[] = [];
    let observation: ReturnType<CoapExchange['accept']> | undefined;
    const s = await start((ex) => {
      observation = ex.accept({ code: '2.05', contentFormat: 50, payload: text('{"v":1}') });
      observation.onEnd((why) => ends.push(why));
    });
    const c = await Client.open(s.port);
    const req = request({ observe: 0, path: '/t/a/desired' });
    c.send(req.datagram);
    const { packet: first } = await c.next((p) => p.token.equals(req.token), 'the registration reply');
    expect(first).toMatchObject({ code: '2.05', ack: true, messageId: req.mid });
    expect(uintOpt(first, 'Observe')).toBe(1);
    expect(first.payload.toString()).toBe('{"v":1}');
    expect(s.exchanges[0]!.request.observe).toBe(0);

    observation!.notify({ code: '2.05', contentFormat: 50, payload: text('{"v":2}') }, false);
    const { packet: n } = await c.next((p) => p.token.equals(req.token), 'the notification');
    expect(n).toMatchObject({ code: '2.05', confirmable: false, ack: false });
    expect(uintOpt(n, 'Observe')).toBe(2);
    expect(n.payload.toString()).toBe('{"v":2}');
    expect(n.messageId).not.toBe(req.mid);

    c.reset(n.messageId); // RFC 7641 §3.6: the client is no longer interested
    await until(() => ends.length > 0, 'the observation to end');
    expect(ends).toEqual(['reset']);
    observation!.notify({ code: '2.05', payload: text('{"v":3}') }, false);
    await c.barrier();
    expect(c.received, 'a notification after the RST').toEqual([]);
  });

  it('answers an Observe GET through respond() as a plain response, without Observe', async () => {
    const s = await start((ex) => ex.respond(ok('plain')));
    const c = await Client.open(s.port);
    const req = request({ observe: 0 });
    c.send(req.datagram);
    const { packet: res } = await c.next((p) => p.token.equals(req.token), 'the reply');
    expect(res.code).toBe('2.05');
    expect(opt(res, 'Observe')).toBeUndefined();
  });
});

describe('createDgramTransport: lifecycle', () => {
  it('closes: a handler answering after close sends nothing, and the port is free again', async () => {
    const s = await start();
    const c = await Client.open(s.port);
    const req = request();
    c.send(req.datagram);
    await until(() => s.exchanges.length === 1, 'the handler to get the request');
    await s.transport.close();
    expect(() => s.exchanges[0]!.respond(ok('too late'))).not.toThrow();
    expect(await c.drainFor(200), 'a reply after close').toEqual([]);
    // Closed means unbound: another socket can take the port.
    const taker = createSocket({ type: 'udp4', reuseAddr: false });
    sockets.push(taker);
    await new Promise<void>((resolve, reject) => { taker.once('error', reject); taker.bind(s.port, HOST, () => resolve()); });
    await s.transport.close(); // closing twice is harmless
  });

  it('fails to listen on a port another socket holds (an exclusive bind)', async () => {
    const holder = createSocket({ type: 'udp4', reuseAddr: false });
    sockets.push(holder);
    await new Promise<void>((resolve) => holder.bind(0, HOST, () => resolve()));
    const port = holder.address().port;
    const t = createDgramTransport({
      cacheBytes: 1 << 16, piggybackMs: 500, block1: { maxBytes: 1024, maxTransfers: 4, idleMs: 1000 },
      ackTimeoutMs: 2000, maxRetransmit: 4, onError: () => {},
    });
    transports.push(t);
    await expect(t.listen(HOST, port, () => {})).rejects.toMatchObject({ code: 'EADDRINUSE' });

    // Nor a second transport on a port the first one holds.
    const first = await start((ex) => ex.respond(ok('first')));
    const second = createDgramTransport({
      cacheBytes: 1 << 16, piggybackMs: 500, block1: { maxBytes: 1024, maxTransfers: 4, idleMs: 1000 },
      ackTimeoutMs: 2000, maxRetransmit: 4, onError: () => {},
    });
    transports.push(second);
    await expect(second.listen(HOST, first.port, () => {})).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // The first still answers.
    const c = await Client.open(first.port);
    const req = request();
    c.send(req.datagram);
    expect((await c.next((p) => p.token.equals(req.token), 'the first transport\'s reply')).packet.payload.toString()).toBe('first');
  });
});
