import { generate, parse } from 'coap-packet';
import type { Packet } from 'coap-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from './message.ts';

/** Option names this server sends, plus numbers whose deltas need the 13 and 14 extensions. */
const OPTIONS = ['Observe', 'ETag', 'Content-Format', 'Max-Age', 'Block1', 'Block2', 'Size2', 'Location-Path', '258', '2049'] as const;

const packets = fc.record({
  code: fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 31 })).map(([c, d]) => `${c}.${String(d).padStart(2, '0')}`),
  type: fc.constantFrom('con', 'ack', 'reset', 'non'),
  messageId: fc.integer({ min: 0, max: 0xffff }),
  token: fc.uint8Array({ maxLength: 8 }),
  options: fc.array(fc.record({ name: fc.constantFrom(...OPTIONS), value: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 6 }),
  payload: fc.uint8Array({ maxLength: 400 }),
});

function packetOf(p: typeof packets extends fc.Arbitrary<infer T> ? T : never): Packet {
  return {
    code: p.code, messageId: p.messageId, token: Buffer.from(p.token), payload: Buffer.from(p.payload),
    options: p.options.map((o) => ({ name: o.name, value: Buffer.from(o.value) })) as Packet['options'],
    confirmable: p.type === 'con', ack: p.type === 'ack', reset: p.type === 'reset',
  };
}

describe('encodeMessage()', () => {
  it('writes exactly what coap-packet generate() writes, options in any order (RFC 7252 §3, §3.1)', () => {
    fc.assert(fc.property(packets, (p) => {
      expect(encodeMessage(packetOf(p)).equals(generate(packetOf(p), 4096))).toBe(true);
    }), { numRuns: 500 });
  });

  it('gives a message without an id a fresh one each time (RFC 7252 §5.2.3 NON responses)', () => {
    const a = parse(encodeMessage({ code: '2.05', confirmable: false, token: Buffer.from([1]) }));
    const b = parse(encodeMessage({ code: '2.05', confirmable: false, token: Buffer.from([1]) }));
    expect(a.confirmable || a.ack || a.reset).toBe(false);
    expect(b.messageId).toBe((a.messageId + 1) & 0xffff);
  });

  it('draws ids from the one counter the notifier and block-wise replies use too (RFC 7252 §4.5)', () => {
    const reply = parse(encodeMessage({ code: '2.04', confirmable: false }));
    const notification: Packet = { code: '2.05', confirmable: false };
    generate(notification);
    const next = parse(encodeMessage({ code: '2.04', confirmable: false }));
    expect(notification.messageId).toBe((reply.messageId + 1) & 0xffff);
    expect(next.messageId).toBe((notification.messageId! + 1) & 0xffff);
  });

  it('allocates each message apart from the shared pool, as cached replies outlive it', () => {
    const out = encodeMessage({ code: '2.04', ack: true, messageId: 7 });
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.length);
  });

  it('refuses a token over 8 bytes (RFC 7252 §3: TKL 9–15 are reserved)', () => {
    expect(() => encodeMessage({ code: '2.05', token: Buffer.alloc(9) })).toThrow(/token/);
  });
});
