/**
 * Fuzzes the CoAP edge over a real UDP socket: noise, headers over lying options (13/14 extended
 * nibbles, reserved 15, lengths past the end, token lengths over 8, payload markers with nothing
 * after them) and structured requests with one thing wrong (unknown critical options, Block1/
 * Block2 values and SZX 7, garbage Observe, bad If-Match, token=garbage, hostile JSON and CBOR).
 *
 * Invariants, per batch of datagrams (`coap-oracle.ts`): a malformed confirmable message gets
 * exactly one RST and anything else malformed nothing; a request gets one reply of class 2, 4 or
 * 5 (never 5.00), errors with a UTF-8 diagnostic, the RFC's code where a rule fixes it; no
 * reply carries Observe unless a registration was accepted; nothing arrives unasked; the server
 * still answers a probe. The victim twin changes only when a reply says 2.04. At the end: health,
 * no prototype pollution, bounded observations and heap. FUZZ_RUNS multiplies the runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwin, startCoapServer } from '../coap/helpers.ts';
import { metric } from '../support/metric.ts';
import type { TestServer } from '../support/server.ts';
import { noise, requests, structured } from './coap-arbitraries.ts';
import { Endpoint } from './coap-oracle.ts';
import { encode, freshMid, OPT, referenceParse, withMid } from './coap-wire.ts';
import type { Message } from './coap-wire.ts';
import { corpus, expectHealthy, expectNoPollution, fromBase64, heapAfterGc, params, timeout } from './support.ts';

let t: TestServer & { port: number };
let token: string;
let heapBefore = 0;
/** Observe registrations sent (a bound for the relations the server may hold). */
let registrations = 0;

beforeAll(async () => {
  // Rate limits off: thousands of requests a second from one token are the point here.
  t = await startCoapServer(['--device-rate', '1000000', '--device-burst', '1000000', '--max-body-bytes', '4096']);
  token = await createTwin(t, 'victim', { temp: 21, mode: 'eco' });
  if (t.local !== undefined) heapBefore = heapAfterGc();
});
afterAll(async () => { await t?.stop(); });

const version = async (): Promise<number> => ((await (await t.call('GET', '/v1/twins/victim')).json()) as { version: number }).version;

/** Sends one batch from a fresh endpoint; the victim may only have changed if a reply said 2.04. */
async function run(datagrams: Buffer[]): Promise<Awaited<ReturnType<Endpoint['exchange']>>> {
  const before = await version();
  const ep = await Endpoint.open(t.port);
  try {
    const out = await ep.exchange(datagrams.map((d) => withMid(d, freshMid())));
    for (const d of datagrams) {
      const m = referenceParse(d);
      if (m !== null && m.code === 1 && m.options.some((o) => o.number === OPT.observe)) registrations++;
    }
    const wrote = out.some((o) => o.answers.some((a) => a.code === 0x44));
    if (!wrote) expect(await version(), 'victim changed without a 2.04').toBe(before);
    return out;
  } finally {
    await ep.close();
  }
}

describe('CoAP datagrams', () => {
  it('survives noise and lying headers: RST, silence or a well-formed answer', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(noise, structured), { minLength: 1, maxLength: 8 }), async (batch) => {
      await run(batch);
    }), params(0xc0a9, 60));
  }, timeout(60_000));

  it('answers structured requests with one thing wrong by the contract and the RFCs', async () => {
    await fc.assert(fc.asyncProperty(fc.array(requests(token), { minLength: 1, maxLength: 5 }), async (batch) => {
      await run(batch.map(encode));
    }), params(0xc0aa, 80));
  }, timeout(60_000));

  it('serves Block2 of any number and size: the slice, 4.02 past the end, 4.00 for SZX 7', async () => {
    const view = async () => (await run([get(['t', 'victim'], [])]))[0]!.answers[0]!.payload;
    await fc.assert(fc.asyncProperty(fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: (1 << 20) - 1 })), fc.integer({ min: 0, max: 7 }), async (num, szx) => {
      const whole = Buffer.from(await view());
      const [out] = await run([get(['t', 'victim'], [{ number: OPT.block2, value: blockBytes(num, szx) }])]);
      const res = out!.answers[0]!;
      const size = 16 << Math.min(szx, 6);
      if (szx === 7) expect(code(res.code)).toBe('4.00');
      else if (num * size >= whole.length) expect(code(res.code)).toBe('4.02');
      else {
        expect(code(res.code)).toBe('2.05');
        expect(Buffer.from(res.payload).equals(whole.subarray(num * size, (num + 1) * size))).toBe(true);
      }
    }), params(0xc0ab, 40));
  }, timeout(30_000));

  it('never turns a garbage Observe into a registration, nor an Observe on a write into an error', async () => {
    const value = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 8 }), fc.integer({ min: 2, max: 0xffffff }).map((n) => Uint8Array.from(Buffer.from(n.toString(16).padStart(6, '0'), 'hex'))));
    await fc.assert(fc.asyncProperty(value, fc.constantFrom(1, 2, 3), async (observe, method) => {
      // A write carries a valid Observe (0): node-coap took it for a registration, which only a GET may be.
      const write = base(method, ['t', 'victim', 'reported']);
      const m = method === 1 ? get(['t', 'victim', 'desired'], [{ number: OPT.observe, value: observe }])
        : encode({ ...write, options: [...write.options, { number: OPT.observe, value: new Uint8Array() }], payload: text('{}') });
      const [out] = await run([m]);
      const res = out!.answers[0]!;
      expect(code(res.code)).toBe(method === 1 ? '2.05' : '2.04');
      expect(res.options.some((o) => o.number === OPT.observe)).toBe(false);
    }), params(0xc0ac, 30));
  }, timeout(30_000));

  it('walks Block1 uploads out of order, oversized and malformed without applying them', async () => {
    const block = fc.record({ num: fc.integer({ min: 0, max: 6 }), more: fc.boolean(), szx: fc.integer({ min: 0, max: 7 }), size: fc.integer({ min: 0, max: 1100 }), tag: fc.constantFrom('01', '02', null) });
    await fc.assert(fc.asyncProperty(fc.array(block, { minLength: 1, maxLength: 6 }), async (blocks) => {
      const ep = await Endpoint.open(t.port);
      const before = await version();
      let wrote = false;
      try {
        for (const b of blocks) {
          const options = [{ number: OPT.block1, value: blockBytes(b.num, b.szx, b.more) }, ...(b.tag === null ? [] : [{ number: OPT.requestTag, value: Buffer.from(b.tag, 'hex') }])];
          const m = base(3, ['t', 'victim', 'reported']);
          // Mostly not JSON: an upload that completes must still be refused.
          const [out] = await ep.exchange([encode({ ...m, mid: freshMid(), options: [...m.options, ...options], payload: Buffer.alloc(b.size, 0x7b) })]);
          const c = code(out!.answers[0]!.code);
          expect(['2.31', '2.04', '4.00', '4.08', '4.13']).toContain(c);
          wrote ||= c === '2.04';
        }
      } finally {
        await ep.close();
      }
      if (!wrote) expect(await version()).toBe(before);
    }), params(0xc0ad, 25));
  }, timeout(30_000));

  describe('corpus (inputs that once broke the server)', () => {
    for (const entry of corpus('coap')) {
      it(`${entry.name}: ${entry.about}`, async () => {
        const [out] = await run([corpusDatagram(entry)]);
        const answers = out!.answers;
        if (entry.expect === 'silence') expect(answers).toEqual([]);
        else if (entry.expect === 'rst') expect(answers.map((a) => a.type)).toEqual([3]);
        else expect(code(answers[0]!.code)).toBe(entry.expect);
        if (entry.noObserve === true) expect(answers[0]!.options.some((o) => o.number === OPT.observe)).toBe(false);
        if (typeof entry.payloadBytes === 'number') expect(answers[0]!.payload.length).toBe(entry.payloadBytes);
      });
    }
  });

  it('is still healthy, unpolluted and bounded after all of it', async () => {
    await expectHealthy(t);
    expectNoPollution();
    // Relations are only made by registrations; each run's endpoint is gone, but none may be invented.
    expect(await metric(t, 'doppel_coap_observations')).toBeLessThanOrEqual(registrations);
    // Generous: thousands of datagrams must not leave megabytes behind (caches are bounded by design).
    if (t.local !== undefined) expect(heapAfterGc() - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

const code = (c: number): string => `${c >> 5}.${String(c & 31).padStart(2, '0')}`;
const text = (s: string) => new TextEncoder().encode(s);

function base(method: number, path: string[]): Message {
  return {
    type: 0, code: method, mid: 0, token: Uint8Array.of(0xab, freshMid() & 0xff, 7), payload: new Uint8Array(),
    options: [...path.map((s) => ({ number: OPT.uriPath, value: text(s) })), { number: OPT.uriQuery, value: text(`token=${token}`) }],
  };
}

function get(path: string[], extra: Message['options']): Buffer {
  const m = base(1, path);
  return encode({ ...m, options: [...m.options, ...extra] });
}

function blockBytes(num: number, szx: number, more = false): Uint8Array {
  const n = num * 16 + (more ? 8 : 0) + szx;
  return n === 0 ? new Uint8Array() : Uint8Array.from(Buffer.from(n.toString(16).padStart(n > 0xffff ? 6 : n > 0xff ? 4 : 2, '0'), 'hex'));
}

/** A corpus datagram: raw bytes, or a request whose Uri-Query may name `$DEVICE` (the victim's token). */
function corpusDatagram(entry: Record<string, unknown>): Buffer {
  if (typeof entry.datagram === 'string') return fromBase64(entry.datagram);
  const r = entry.request as { type: number; code: number; token: string; options: Array<{ n: number; text?: string; hex?: string }>; payload?: string };
  return encode({
    type: r.type, code: r.code, mid: 0, token: Buffer.from(r.token, 'hex'), payload: Buffer.from(r.payload ?? '', 'utf8'),
    options: r.options.map((o) => ({ number: o.n, value: o.text !== undefined ? text(o.text.replace('$DEVICE', token)) : Buffer.from(o.hex ?? '', 'hex') })),
  });
}
