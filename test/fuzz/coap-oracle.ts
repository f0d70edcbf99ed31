/**
 * What the server must answer to a datagram (RFC 7252 §3, §4.2–4.3, §5.4, §5.8, §5.10.2; RFC 7959
 * §2.2; RFC 7641 §2), and a UDP endpoint that sends a batch, claims every datagram that comes back
 * for the request it answers, and fails on anything unexpected: a reply to what must be ignored, a
 * missing reply, a stray datagram, a wrong code or a reply that breaks the contract's shape.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { decode as decodeCborX } from 'cbor-x';
import { expect } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import { encode, freshMid, OPT, readUint, referenceParse, UNDERSTOOD_CRITICAL } from './coap-wire.ts';
import type { Parsed } from './coap-wire.ts';

export type Expectation =
  | { kind: 'silence' }
  | { kind: 'rst' }
  /** A response; `codes` when the request breaks a rule with a fixed answer; `maySilence` for a rejected NON. */
  | { kind: 'reply'; request: Parsed; codes: Set<string> | null; maySilence: boolean };

const dotted = (code: number): string => `${code >> 5}.${String(code & 31).padStart(2, '0')}`;
const CON = 0, NON = 1, ACK = 2, RST = 3;

/** The server's duty for one datagram. */
export function oracle(d: Uint8Array): Expectation {
  if (d.length < 4 || d[0]! >> 6 !== 1) return { kind: 'silence' }; // §3: unknown versions are ignored
  const m = referenceParse(d);
  const type = (d[0]! >> 4) & 3;
  if (m === null) return type === CON ? { kind: 'rst' } : { kind: 'silence' }; // §4.2, §4.3
  if (m.code === 0) return type === CON ? { kind: 'rst' } : { kind: 'silence' }; // CoAP ping; stray ACK/RST
  // Not a request: a confirmable response nobody asked for is rejected with RST (§4.2), others ignored.
  if (m.code >> 5 !== 0) return type === CON ? { kind: 'rst' } : { kind: 'silence' };
  if (type === ACK || type === RST) return { kind: 'silence' };
  const codes = new Set<string>();
  let maySilence = false;
  if (m.code < 1 || m.code > 4) codes.add('4.05'); // §5.8: only GET, POST, PUT, DELETE exist here
  const seen = new Set<number>();
  for (const o of m.options) {
    if (o.number === OPT.proxyUri || o.number === OPT.proxyScheme) codes.add('5.05');
    else if (o.number % 2 === 1) {
      const repeatable = UNDERSTOOD_CRITICAL.get(o.number);
      if (repeatable === undefined || (!repeatable && seen.has(o.number))) {
        if (type === CON) codes.add('4.02');
        else maySilence = true;
      }
    }
    if (o.number === OPT.block2 && (o.value.length > 3 || (o.value.at(-1)! & 7) === 7)) codes.add('4.00');
    seen.add(o.number);
  }
  return { kind: 'reply', request: m, codes: codes.size > 0 || maySilence ? codes : null, maySilence };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks one response against the request it answers (the shape every reply must have). */
export function checkResponse(res: Parsed, exp: Extract<Expectation, { kind: 'reply' }>): void {
  const req = exp.request;
  const code = dotted(res.code);
  const what = `reply ${code} to ${dotted(req.code)} ${JSON.stringify(req.options.map((o) => [o.number, Buffer.from(o.value).toString('hex')]))}`;
  expect(Buffer.from(res.token).equals(Buffer.from(req.token)), `${what}: token`).toBe(true);
  expect([2, 4, 5], what).toContain(res.code >> 5);
  expect(code, `${what}: internal error`).not.toBe('5.00');
  if (exp.codes !== null) expect([...exp.codes], what).toContain(code);
  const block2 = res.options.find((o) => o.number === OPT.block2);
  if (res.code >> 5 !== 2) {
    // A diagnostic payload (RFC 7252 §5.5.2), whole unless cut into blocks.
    expect(res.payload.length, `${what}: diagnostic`).toBeGreaterThan(0);
    if (block2 === undefined) {
      expect(() => utf8.decode(res.payload), `${what}: UTF-8`).not.toThrow();
      // One format whatever layer refused: `<stable code>: <Message in sentence case>`.
      const [, errorCode] = /^([a-z_]+): [^a-z\s]/.exec(utf8.decode(res.payload)) ?? [];
      expect(Object.keys(ERROR_CODES), `${what}: diagnostic ${JSON.stringify(utf8.decode(res.payload))}`).toContain(errorCode);
    }
  }
  const observe = res.options.find((o) => o.number === OPT.observe);
  if (observe !== undefined) {
    // RFC 7641 §4.1: only a registration (the first Observe, 0) that was accepted carries one.
    const asked = req.options.find((o) => o.number === OPT.observe);
    expect(req.code === 1 && asked !== undefined && asked.value.length <= 3 && readUint(asked.value) === 0 && code === '2.05', `${what}: Observe`).toBe(true);
  }
  if (code === '2.05' && block2 === undefined) {
    const format = readUint(res.options.find((o) => o.number === OPT.contentFormat)?.value ?? new Uint8Array());
    if (format === 50) expect(() => JSON.parse(utf8.decode(res.payload)), `${what}: JSON body`).not.toThrow();
    else if (format === 60) expect(() => decodeCborX(res.payload), `${what}: CBOR body`).not.toThrow();
    else expect(res.payload.length, `${what}: body`).toBeGreaterThan(0);
  }
  if (code === '2.31') expect(req.options.some((o) => o.number === OPT.block1), `${what}: 2.31 without Block1`).toBe(true);
}

interface Entry { datagram: Buffer; mid: number; exp: Expectation; answers: Parsed[]; acked: boolean }

const observing = (e: Entry) => e.answers[0]?.options.some((o) => o.number === OPT.observe) === true;

/**
 * The request a NON or separate response answers: by token (several requests may share one, e.g.
 * the empty token), an unanswered one whose expected codes fit first, else an observation.
 */
function byToken(entries: Entry[], res: Parsed): Entry | undefined {
  const same = entries.filter((x) => x.exp.kind === 'reply' && Buffer.from(x.exp.request.token).equals(Buffer.from(res.token)));
  const open = same.filter((x) => x.answers.length === 0);
  const fits = (x: Entry) => x.exp.kind === 'reply' && (x.exp.codes === null || x.exp.codes.has(dotted(res.code)));
  return open.find(fits) ?? open[0] ?? same.find(observing);
}

/** One run's UDP endpoint (a fresh port per run keeps runs' message ids and observations apart). */
export class Endpoint {
  readonly #socket: Socket;
  readonly #inbox: Buffer[] = [];
  #wake: (() => void) | null = null;
  private constructor(socket: Socket, private readonly port: number) {
    this.#socket = socket;
    socket.on('message', (m) => { this.#inbox.push(m); this.#wake?.(); });
  }

  static async open(port: number): Promise<Endpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new Endpoint(socket, port);
  }

  send(d: Uint8Array): void { this.#socket.send(d, this.port, '127.0.0.1'); }
  close(): Promise<void> { return new Promise((resolve) => this.#socket.close(() => resolve())); }

  /** Waits until `done()` or the deadline; true when done. */
  async #until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
      this.#wake = null;
    }
    return true;
  }

  /**
   * Sends `datagrams` and checks what comes back: every expected reply arrives (or the run fails
   * after 5 s), then a probe (a plain GET of /.well-known/core) is answered, and nothing arrives
   * that no datagram asked for. Returns every response received, by datagram.
   */
  async exchange(datagrams: Buffer[]): Promise<Array<{ datagram: Buffer; exp: Expectation; answers: Parsed[] }>> {
    const entries: Entry[] = datagrams.map((d) => ({ datagram: d, mid: d.length >= 4 ? d[2]! * 256 + d[3]! : -1, exp: oracle(d), answers: [], acked: false }));
    const probeMid = freshMid();
    const probeToken = Uint8Array.of(0xfe, 0xed, probeMid >> 8, probeMid & 0xff);
    const probe = encode({ type: CON, code: 1, mid: probeMid, token: probeToken, options: [{ number: OPT.uriPath, value: Buffer.from('.well-known') }, { number: OPT.uriPath, value: Buffer.from('core') }], payload: new Uint8Array() });
    const probeEntry: Entry = { datagram: probe, mid: probeMid, exp: oracle(probe), answers: [], acked: false };
    const stray: string[] = [];
    const claim = (raw: Buffer) => {
      const r = referenceParse(raw);
      if (r === null || r.version !== 1) { stray.push(`malformed reply ${raw.toString('hex')}`); return; }
      const all = [...entries, probeEntry];
      if (r.code === 0) {
        const e = all.find((x) => x.mid === r.mid && (r.type === RST ? x.exp.kind === 'rst' && x.answers.length === 0 : x.exp.kind === 'reply' && !x.acked));
        if (e === undefined || r.type === CON || r.type === NON) { stray.push(`empty ${r.type} ${r.mid}`); return; }
        if (r.type === RST) e.answers.push(r); else e.acked = true;
        return;
      }
      const e = r.type === ACK
        ? all.find((x) => x.mid === r.mid && x.exp.kind === 'reply' && (x.datagram[0]! >> 4 & 3) === CON)
        : byToken(all, r);
      if (e === undefined) { stray.push(`response ${dotted(r.code)} type ${r.type} mid ${r.mid} token ${Buffer.from(r.token).toString('hex')}`); return; }
      if (r.type === CON) this.send(encode({ type: ACK, code: 0, mid: r.mid, token: new Uint8Array(), options: [], payload: new Uint8Array() }));
      // Later notifications of an accepted observation may follow the first answer.
      if (e.answers.length > 0 && !observing(e)) { stray.push(`second answer ${dotted(r.code)} to mid ${e.mid}`); return; }
      e.answers.push(r);
    };
    const drain = () => { for (const m of this.#inbox.splice(0)) claim(m); };
    for (const d of datagrams) this.send(d);
    const owed = (e: Entry) => (e.exp.kind === 'rst' || (e.exp.kind === 'reply' && !e.exp.maySilence)) && e.answers.length === 0;
    await this.#until(() => { drain(); return !entries.some(owed); }, 5000);
    this.send(probe);
    await this.#until(() => { drain(); return probeEntry.answers.length > 0; }, 5000);
    // Datagrams that must be ignored had the time the probe took, and a little more, to get an answer.
    await new Promise((r) => setTimeout(r, 15));
    drain();
    expect(stray, 'datagrams nobody asked for').toEqual([]);
    expect(dotted(probeEntry.answers[0]?.code ?? 0), 'probe answered').toBe('2.05');
    for (const e of entries) {
      const what = `datagram ${e.datagram.toString('hex')}`;
      if (e.exp.kind === 'silence') expect(e.answers, `${what} must be ignored`).toEqual([]);
      else if (e.exp.kind === 'rst') expect(e.answers.map((a) => a.type), `${what} must get RST`).toEqual([RST]);
      else {
        if (!e.exp.maySilence) expect(e.answers.length, `${what} must be answered`).toBeGreaterThan(0);
        for (const a of e.answers.slice(0, 1)) checkResponse(a, e.exp);
      }
    }
    return entries.map(({ datagram, exp, answers }) => ({ datagram, exp, answers }));
  }
}
