import { generate, parse } from 'coap-packet';
import type { Packet } from 'coap-packet';
import { describe, expect, it } from 'vitest';
import { Block1Reassembler } from './block1.ts';
import { decodeUint, encodeBlock, parseBlock, REQUEST_TAG } from './options.ts';

const EP = '127.0.0.1:40000';

function block(num: number, more: boolean, payload: Buffer, opts: { token?: string; tag?: string | null; mid?: number; szx?: number } = {}) {
  const options: Packet['options'] = [
    { name: 'Uri-Path', value: Buffer.from('t') }, { name: 'Uri-Path', value: Buffer.from('a') }, { name: 'Uri-Path', value: Buffer.from('reported') },
    { name: 'Block1', value: encodeBlock({ num, more, szx: opts.szx ?? 0 }) },
  ];
  if (opts.tag !== null) options.push({ name: String(REQUEST_TAG), value: Buffer.from(opts.tag ?? 'ab', 'hex') });
  const raw = generate({ code: 'PUT', confirmable: true, messageId: opts.mid ?? 100 + num, token: Buffer.from(opts.token ?? `0${num}`, 'hex'), options, payload });
  return { raw, packet: parse(raw) };
}

const reassembler = (over: Partial<ConstructorParameters<typeof Block1Reassembler>[0]> = {}) =>
  new Block1Reassembler({ maxBytes: 1000, maxTransfers: 10, idleMs: 1000, ...over });

function run(r: Block1Reassembler, b: ReturnType<typeof block>) { return r.handle(EP, b.raw, b.packet); }
const replyCode = (o: ReturnType<Block1Reassembler['handle']>) => (o.kind === 'reply' ? parse(o.datagram).code : o.kind);

describe('Block1Reassembler', () => {
  it('reassembles blocks sent with a new token each, tied by Request-Tag (libcoap 4.3)', () => {
    const r = reassembler();
    const first = run(r, block(0, true, Buffer.alloc(16, 'a'), { token: 'aa' }));
    expect(first.kind).toBe('reply');
    const cont = parse((first as { datagram: Buffer }).datagram);
    // RFC 7959 §2.3: 2.31 Continue, piggybacked, echoing the block with M=1.
    expect(cont).toMatchObject({ code: '2.31', ack: true, messageId: 100 });
    expect(parseBlock(cont.options.find((o) => o.name === 'Block1')!.value)).toEqual({ num: 0, more: true, szx: 0 });
    expect(replyCode(run(r, block(1, true, Buffer.alloc(16, 'b'), { token: 'bb' })))).toBe('2.31');
    const last = run(r, block(2, false, Buffer.from('cc'), { token: 'cc' }));
    expect(last.kind).toBe('forward');
    if (last.kind !== 'forward') return;
    const whole = parse(last.datagram);
    expect(whole.payload.toString()).toBe(`${'a'.repeat(16)}${'b'.repeat(16)}cc`);
    expect(whole.token.toString('hex')).toBe('cc');
    // node-coap sees a single-block request; the client's final Block1 is echoed in the response.
    expect(parseBlock(whole.options.find((o) => o.name === 'Block1')!.value)).toEqual({ num: 0, more: false, szx: 0 });
    expect(parseBlock(last.block1)).toEqual({ num: 2, more: false, szx: 0 });
    expect(r.transfers).toBe(0);
  });

  it('keeps transfers with different Request-Tags apart and falls back to the token without one', () => {
    const r = reassembler();
    run(r, block(0, true, Buffer.alloc(16, 'x'), { tag: '01' }));
    run(r, block(0, true, Buffer.alloc(16, 'y'), { tag: '02', mid: 200 }));
    run(r, block(0, true, Buffer.alloc(16, 'z'), { tag: null, token: '77', mid: 300 }));
    expect(r.transfers).toBe(3);
    const a = run(r, block(1, false, Buffer.from('1'), { tag: '01' }));
    const b = run(r, block(1, false, Buffer.from('2'), { tag: '02', mid: 201 }));
    const c = run(r, block(1, false, Buffer.from('3'), { tag: null, token: '77', mid: 301 }));
    expect([a, b, c].map((o) => (o.kind === 'forward' ? parse(o.datagram).payload.toString() : o.kind))).toEqual([
      `${'x'.repeat(16)}1`, `${'y'.repeat(16)}2`, `${'z'.repeat(16)}3`,
    ]);
  });

  it('forwards the same reassembled datagram again for a retransmitted final block', () => {
    const r = reassembler();
    run(r, block(0, true, Buffer.alloc(16)));
    const final = block(1, false, Buffer.from('!'));
    const once = run(r, final);
    const again = run(r, final);
    expect(again).toEqual(once);
  });

  it('answers 4.08 for a block out of order or of an unknown transfer, 4.00 for a short middle block', () => {
    const r = reassembler();
    expect(replyCode(run(r, block(3, true, Buffer.alloc(16))))).toBe('4.08');
    run(r, block(0, true, Buffer.alloc(16)));
    expect(replyCode(run(r, block(2, true, Buffer.alloc(16))))).toBe('4.08');
    run(r, block(0, true, Buffer.alloc(16)));
    expect(replyCode(run(r, block(1, true, Buffer.alloc(5))))).toBe('4.00');
  });

  it('refuses a body over the bound with 4.13 and Size1, and drops idle transfers', () => {
    let now = 0;
    const r = reassembler({ maxBytes: 40, now: () => now });
    run(r, block(0, true, Buffer.alloc(16), { szx: 0 }));
    run(r, block(1, true, Buffer.alloc(16), { szx: 0 }));
    const over = run(r, block(2, true, Buffer.alloc(16), { szx: 0 }));
    expect(replyCode(over)).toBe('4.13');
    expect(decodeUint(parse((over as { datagram: Buffer }).datagram).options.find((o) => o.name === 'Size1')!.value)).toBe(40);
    run(r, block(0, true, Buffer.alloc(16), { tag: '09' }));
    now = 5000;
    expect(replyCode(run(r, block(1, false, Buffer.alloc(1), { tag: '09' })))).toBe('4.08');
    expect(r.transfers).toBe(0);
  });

  it('bounds the transfers in progress (oldest dropped first)', () => {
    const r = reassembler({ maxTransfers: 2 });
    for (const tag of ['01', '02', '03']) run(r, block(0, true, Buffer.alloc(16), { tag }));
    expect(r.transfers).toBe(2);
    expect(replyCode(run(r, block(1, false, Buffer.alloc(1), { tag: '01' })))).toBe('4.08');
    expect(replyCode(run(r, block(1, false, Buffer.alloc(1), { tag: '03' })))).toBe('forward');
  });
});
