/**
 * Helpers for the CoAP integration tests: a raw UDP client built on `coap-packet` (so tests see
 * exactly what went over the wire, and can send duplicates, garbage and RSTs), a libcoap runner
 * (`coap-client-notls` via execFile with a timeout), and twin fixtures over HTTP. Waits use
 * deadlines, never fixed sleeps.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { generate, parse } from 'coap-packet';
import type { Packet, ParsedPacket } from 'coap-packet';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

export const COAP_CLIENT = '/usr/bin/coap-client-notls';

export function uint(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}
export const readUint = (b: Buffer | undefined): number | undefined => (b === undefined ? undefined : [...b].reduce((n, x) => n * 256 + x, 0));
export const option = (p: ParsedPacket, name: string): Buffer | undefined => p.options.find((o) => String(o.name) === name)?.value;

/** A CoAP test server with one twin and its device token. */
export async function startCoapServer(flags: string[] = []): Promise<TestServer & { port: number }> {
  const t = await startTestServer(flags);
  return Object.assign(t, { port: t.server.coapPort });
}

export async function createTwin(t: TestServer, id: string, desired: unknown = {}): Promise<string> {
  const created = await t.call('POST', '/v1/twins', { body: { id, desired } });
  if (created.status !== 201) throw new Error(`create ${id}: ${created.status} ${await created.text()}`);
  const res = await t.call('POST', `/v1/twins/${id}/token`);
  return ((await res.json()) as { token: string }).token;
}

export interface RequestSpec {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  query?: string[];
  payload?: Buffer | string;
  format?: number;
  accept?: number;
  ifMatch?: Buffer;
  observe?: number;
  block2?: Buffer;
  confirmable?: boolean;
  token?: Buffer;
  messageId?: number;
  extra?: Array<{ name: string; value: Buffer }>;
}

let nextMid = Math.floor(Math.random() * 60_000);

export function buildRequest(spec: RequestSpec): { packet: Packet; datagram: Buffer } {
  const options: Array<{ name: string; value: Buffer }> = [];
  if (spec.observe !== undefined) options.push({ name: 'Observe', value: uint(spec.observe) });
  for (const seg of spec.path.split('/').filter((s) => s !== '')) options.push({ name: 'Uri-Path', value: Buffer.from(seg) });
  if (spec.format !== undefined) options.push({ name: 'Content-Format', value: uint(spec.format) });
  for (const q of spec.query ?? []) options.push({ name: 'Uri-Query', value: Buffer.from(q) });
  if (spec.accept !== undefined) options.push({ name: 'Accept', value: uint(spec.accept) });
  if (spec.ifMatch !== undefined) options.push({ name: 'If-Match', value: spec.ifMatch });
  if (spec.block2 !== undefined) options.push({ name: 'Block2', value: spec.block2 });
  options.push(...(spec.extra ?? []));
  const packet: Packet = {
    code: spec.method ?? 'GET', confirmable: spec.confirmable ?? true, token: spec.token ?? randomBytes(4),
    messageId: spec.messageId ?? (nextMid = (nextMid + 1) % 65536), options,
    payload: typeof spec.payload === 'string' ? Buffer.from(spec.payload) : spec.payload ?? Buffer.alloc(0),
  };
  return { packet, datagram: generate(packet, 70_000) };
}

/** A raw CoAP client on its own UDP socket: every datagram received is queued. */
export class RawClient {
  readonly socket: Socket;
  readonly received: ParsedPacket[] = [];
  #waiters: Array<() => void> = [];
  readonly port: number;

  private constructor(socket: Socket, private readonly serverPort: number) {
    this.socket = socket;
    this.port = socket.address().port;
    socket.on('message', (m) => {
      try { this.received.push(parse(m)); } catch { /* not CoAP */ }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(serverPort: number): Promise<RawClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new RawClient(socket, serverPort);
  }

  sendRaw(datagram: Buffer): void { this.socket.send(datagram, this.serverPort, '127.0.0.1'); }

  /** Removes and returns the first datagram matching `test`, waiting up to `timeoutMs`. */
  async next(test: (p: ParsedPacket) => boolean, timeoutMs = 5000, what = 'datagram'): Promise<ParsedPacket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(test);
      if (i >= 0) return this.received.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.received.map((p) => ({ code: p.code, mid: p.messageId, ack: p.ack })))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /**
   * Sends a request and waits for its response (piggybacked or separate; a separate CON one is
   * ACKed). A confirmable request is retransmitted every second, as a real client would (RFC 7252
   * §4.2), since UDP may drop it (e.g. a receive buffer full of garbage in the fault tests).
   */
  async request(spec: RequestSpec, timeoutMs = 5000): Promise<ParsedPacket> {
    const { packet, datagram } = buildRequest(spec);
    const deadline = Date.now() + timeoutMs;
    const isReply = (p: ParsedPacket) => p.code !== '0.00' && p.token.equals(packet.token!);
    for (;;) {
      this.sendRaw(datagram);
      const wait = Math.min(packet.confirmable ? 1000 : timeoutMs, deadline - Date.now());
      try {
        const res = await this.next(isReply, wait, `reply to ${spec.method ?? 'GET'} ${spec.path}`);
        if (res.confirmable) this.ack(res);
        return res;
      } catch (err) {
        if (Date.now() >= deadline) throw err;
      }
    }
  }

  ack(p: ParsedPacket): void { this.sendRaw(generate({ code: '0.00', ack: true, messageId: p.messageId, token: Buffer.alloc(0) })); }
  reset(p: ParsedPacket): void { this.sendRaw(generate({ code: '0.00', reset: true, messageId: p.messageId, token: Buffer.alloc(0) })); }

  close(): Promise<void> { return new Promise((resolve) => this.socket.close(() => resolve())); }
}

export const json = (p: ParsedPacket): unknown => JSON.parse(p.payload.toString('utf8'));

/** Runs coap-client-notls; resolves with stdout (rejects on a non-zero exit or the timeout). */
export async function libcoap(args: string[], timeoutMs = 15_000): Promise<{ stdout: string; stderr: string; bytes: Buffer }> {
  const { stdout, stderr } = await new Promise<{ stdout: Buffer; stderr: Buffer }>((resolve, reject) => {
    execFile(COAP_CLIENT, args, { timeout: timeoutMs, maxBuffer: 1 << 22, encoding: 'buffer' }, (err, out, errOut) => {
      if (err !== null) { reject(new Error(`coap-client ${args.join(' ')} failed: ${err.message}: ${out.toString()} ${errOut.toString()}`)); return; }
      resolve({ stdout: out, stderr: errOut });
    });
  });
  return { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), bytes: stdout };
}

/** Polls `check` until it holds, up to `timeoutMs` (for state only visible from outside, e.g. metrics). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of an unlabelled metric from /metrics. */
export async function metric(t: TestServer, name: string): Promise<number> {
  const text = await (await t.call('GET', '/metrics')).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}
