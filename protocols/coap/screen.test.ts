import { generate, parse } from 'coap-packet';
import type { Packet } from 'coap-packet';
import { describe, expect, it } from 'vitest';
import { screenRequest } from './screen.ts';

function request(code: string, options: NonNullable<Packet['options']>, confirmable = true) {
  return parse(generate({ code, confirmable, messageId: 7, token: Buffer.from('aa', 'hex'), options: [{ name: 'Uri-Path', value: Buffer.from('t') }, ...options] }));
}
const opt = (name: string, hex: string) => ({ name, value: Buffer.from(hex, 'hex') });

describe('screenRequest()', () => {
  it('passes an ordinary request untouched', () => {
    const p = request('GET', [opt('Uri-Query', '00'), opt('Accept', '32'), opt('Block2', '02'), opt('If-Match', '01'), opt('If-Match', '02'), opt('292', 'ab')]);
    expect(screenRequest(p)).toEqual({ kind: 'pass', packet: p });
  });

  it('refuses methods other than GET, POST, PUT, DELETE with 4.05 (RFC 7252 §5.8)', () => {
    for (const code of ['0.05', '0.07', '0.31']) expect(screenRequest(request(code, []))).toMatchObject({ kind: 'refuse', code: '4.05' });
  });

  it('answers an unrecognized or repeated critical option with 4.02, and drops it from a NON (RFC 7252 §5.4.1, §5.4.5)', () => {
    expect(screenRequest(request('GET', [opt('9', '01')]))).toMatchObject({ kind: 'refuse', code: '4.02' });
    expect(screenRequest(request('GET', [opt('If-None-Match', '')]))).toMatchObject({ kind: 'refuse', code: '4.02' });
    expect(screenRequest(request('GET', [opt('Accept', '32'), opt('Accept', '3c')]))).toMatchObject({ kind: 'refuse', code: '4.02' });
    expect(screenRequest(request('GET', [opt('2049', '')], false))).toEqual({ kind: 'drop' });
    // Elective options are ignored, whatever their number.
    expect(screenRequest(request('GET', [opt('2048', 'ff'), opt('65000', '')])).kind).toBe('pass');
  });

  it('words every refusal as one diagnostic, "<code>: <Message>"', () => {
    const text = (s: ReturnType<typeof screenRequest>) => (s.kind === 'refuse' ? s.message.toString('utf8') : s.kind);
    expect(text(screenRequest(request('0.05', [])))).toBe('method_not_allowed: Method 0.05 not allowed: use GET, PUT or POST');
    expect(text(screenRequest(request('GET', [opt('9', '01')])))).toBe('invalid_request: Unsupported critical option 9');
    expect(text(screenRequest(request('GET', [opt('Accept', '32'), opt('Accept', '3c')])))).toBe('invalid_request: Repeated option 17');
    expect(text(screenRequest(request('GET', [opt('Proxy-Uri', '78')])))).toBe('invalid_request: Proxying not supported: this server is no proxy');
    expect(text(screenRequest(request('GET', [opt('Block2', '0f')])))).toBe('invalid_request: Malformed Block2 option');
  });

  it('refuses proxying with 5.05 and a malformed Block2 with 4.00', () => {
    expect(screenRequest(request('GET', [opt('Proxy-Uri', '78')]))).toMatchObject({ kind: 'refuse', code: '5.05' });
    expect(screenRequest(request('GET', [opt('Block2', '0f')]))).toMatchObject({ kind: 'refuse', code: '4.00' });
    expect(screenRequest(request('GET', [opt('Block2', '01020304')]))).toMatchObject({ kind: 'refuse', code: '4.00' });
  });

  it('drops an Observe that is too long, repeated beyond the first, or on a write; spells an empty Block2 as one byte', () => {
    const names = (s: ReturnType<typeof screenRequest>) => (s.kind === 'rewrite' ? s.packet.options.map((o) => `${String(o.name)}=${o.value.toString('hex')}`) : s.kind);
    expect(names(screenRequest(request('GET', [opt('Observe', '0102030405')])))).toEqual(['Uri-Path=74']);
    expect(names(screenRequest(request('GET', [opt('Observe', ''), opt('Observe', '0102030405')])))).toEqual(['Observe=', 'Uri-Path=74']);
    expect(names(screenRequest(request('PUT', [opt('Observe', '')])))).toEqual(['Uri-Path=74']);
    expect(names(screenRequest(request('GET', [opt('Block2', '')])))).toEqual(['Uri-Path=74', 'Block2=00']);
  });
});
