/**
 * A cheap CoAP load generator over raw `node:dgram`: pre-built confirmable datagrams whose message
 * id and 4-byte token are patched in place per send, so the generator costs a few µs per request
 * and measures the server, not itself. Closed loop (`inFlight` outstanding) or open loop (`rate`
 * per second). Replies are matched by message id (piggybacked) or token (separate responses,
 * which are ACKed). A request unanswered for `timeoutMs` counts as a timeout and is replaced.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { encode as encodeCbor } from 'cbor-x';
import { generate } from 'coap-packet';

export interface CoapRequestSpec { path: string[]; query?: string[]; payload?: string | Uint8Array; format?: number }

/** A confirmable request with a 4-byte token, ready for `runCoapLoad` (mid and token get patched). */
export function coapDatagram(spec: CoapRequestSpec): Buffer {
  return generate({
    code: spec.payload === undefined ? 'GET' : 'PUT', confirmable: true, messageId: 0, token: Buffer.alloc(4),
    options: [
      ...spec.path.map((p) => ({ name: 'Uri-Path', value: Buffer.from(p) })),
      ...(spec.payload === undefined ? [] : [{ name: 'Content-Format', value: Buffer.from([spec.format ?? 50]) }]),
      ...(spec.query ?? []).map((q) => ({ name: 'Uri-Query', value: Buffer.from(q) })),
    ],
    payload: typeof spec.payload === 'string' || spec.payload === undefined ? Buffer.from(spec.payload ?? '') : Buffer.from(spec.payload),
  });
}

/**
 * Reported-state updates for twins `<prefix><i>` with their device tokens: two alternating CBOR
 * merge patches per twin (Content-Format 60), so every request really changes and persists its twin.
 */
export function coapUpdateDatagrams(tokens: readonly string[], prefix: string): Buffer[] {
  return tokens.flatMap((token, i) => [20, 21].map((temp) =>
    coapDatagram({ path: ['t', `${prefix}${i}`, 'reported'], query: [`token=${token}`], payload: encodeCbor({ temp }), format: 60 })));
}

export interface CoapLoadOptions {
  port: number;
  host?: string;
  /** Sent in turn; each must come from `coapDatagram` (4-byte token). */
  datagrams: Buffer[];
  seconds: number;
  /** Closed loop: this many requests outstanding. */
  inFlight?: number;
  /** Open loop: this many requests per second, whatever the replies do. */
  rate?: number;
  sockets?: number;
  timeoutMs?: number;
  /** Closed loop: stop after this many requests (or `seconds`, whichever comes first). */
  maxRequests?: number;
}

export interface CoapLoadResult {
  replies: number;
  /** Reply code (e.g. 0x44 = 2.04) → count. */
  codes: Map<number, number>;
  timeouts: number;
  seconds: number;
  /** Milliseconds from send to reply, in completion order. */
  latenciesMs: number[];
}

export const codeName = (code: number) => `${code >> 5}.${String(code & 31).padStart(2, '0')}`;

export async function runCoapLoad(opts: CoapLoadOptions): Promise<CoapLoadResult> {
  const host = opts.host ?? '127.0.0.1';
  const socketCount = opts.sockets ?? (opts.inFlight !== undefined && opts.inFlight > 8 ? 2 : 1);
  const timeoutMs = opts.timeoutMs ?? 2000;
  const sockets: Socket[] = [];
  const pending: Array<Map<number, { at: number; token: number }>> = [];
  const byToken: Array<Map<number, number>> = [];
  const result: CoapLoadResult = { replies: 0, codes: new Map(), timeouts: 0, seconds: 0, latenciesMs: [] };
  let n = 0;
  let running = true;
  const mids: number[] = [];

  let allDone: (() => void) | null = null;
  const send = (s: number) => {
    if (!running) return;
    if (opts.maxRequests !== undefined && n >= opts.maxRequests) {
      if (result.replies + result.timeouts >= opts.maxRequests) allDone?.();
      return;
    }
    const d = opts.datagrams[n % opts.datagrams.length]!;
    const token = (n++ >>> 0);
    const mid = mids[s] = (mids[s]! + 1) & 0xffff;
    d[2] = mid >> 8; d[3] = mid & 255;
    d.writeUInt32BE(token, 4);
    const old = pending[s]!.get(mid);
    if (old !== undefined) byToken[s]!.delete(old.token); // 65,536 requests ago: long given up
    pending[s]!.set(mid, { at: performance.now(), token });
    byToken[s]!.set(token, mid);
    sockets[s]!.send(d, opts.port, host);
  };
  const settle = (s: number, mid: number, code: number) => {
    const p = pending[s]!.get(mid);
    if (p === undefined) return false;
    pending[s]!.delete(mid);
    byToken[s]!.delete(p.token);
    result.replies++;
    result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
    result.latenciesMs.push(performance.now() - p.at);
    if (opts.rate === undefined) send(s);
    return true;
  };

  for (let s = 0; s < socketCount; s++) {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    pending.push(new Map());
    byToken.push(new Map());
    mids.push(Math.floor(Math.random() * 65536));
    sock.on('message', (m) => {
      if (m.length < 4) return;
      const type = (m[0]! >> 4) & 3;
      const code = m[1]!;
      if (type === 2 && code !== 0) { settle(s, (m[2]! << 8) | m[3]!, code); return; }
      if (type === 0 || type === 1) {
        // A separate response (after an empty ACK): ACK it if confirmable, match it by token.
        if (type === 0) sock.send(Buffer.from([0x60, 0, m[2]!, m[3]!]), opts.port, host);
        if ((m[0]! & 15) !== 4 || code === 0) return;
        const mid = byToken[s]!.get(m.readUInt32BE(4));
        if (mid !== undefined) settle(s, mid, code);
      }
    });
    sockets.push(sock);
  }

  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (let s = 0; s < socketCount; s++) {
      for (const [mid, p] of pending[s]!) {
        if (now - p.at <= timeoutMs) continue;
        pending[s]!.delete(mid);
        byToken[s]!.delete(p.token);
        result.timeouts++;
        if (opts.rate === undefined) send(s);
      }
    }
  }, Math.min(250, timeoutMs));
  if (opts.rate !== undefined) {
    // Open loop: send on schedule, catching up in bursts when the timer runs late.
    let sent = 0;
    while (performance.now() < deadline) {
      const due = Math.floor(((performance.now() - started) / 1000) * opts.rate);
      for (; sent < due; sent++) send(sent % socketCount);
      await new Promise((r) => setTimeout(r, 1));
    }
  } else {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.seconds * 1000);
      allDone = () => { clearTimeout(timer); resolve(); };
      for (let k = 0; k < (opts.inFlight ?? 1); k++) send(k % socketCount);
    });
  }
  running = false;
  result.seconds = (performance.now() - started) / 1000;
  clearInterval(sweeper);
  // Let replies already on the wire arrive, so a closed socket does not count them as lost.
  await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets) s.close();
  return result;
}
