/**
 * One diagnostic format for every CoAP error, over real UDP: `<code>: <Message in sentence case>`
 * (RFC 7252 §5.5.2 leaves the text to us; the stable Doppel code comes first so a device can
 * branch on it), whichever layer refused the request: the resources (`resources.ts`,
 * `formats.ts`), the request screen (`screen.ts`), Block1 reassembly (`block1.ts`) or Block2
 * slicing in the transport.
 */
import { generate } from 'coap-packet';
import type { ParsedPacket } from 'coap-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, option, RawClient, readUint, startCoapServer, uint } from './helpers.ts';
import type { RequestSpec } from './helpers.ts';

let t: TestServer & { port: number };
let client: RawClient;
let token: string;

const q = () => [`token=${token}`];

/** Asserts the CoAP code and the diagnostic `<code>: <Message>`, and returns the message. */
function expectDiagnostic(res: ParsedPacket, coapCode: string, code: keyof typeof ERROR_CODES): string {
  const text = res.payload.toString('utf8');
  expect(res.code, text).toBe(coapCode);
  expect(text).toMatch(new RegExp(`^${code}: [A-Z"]`));
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(200);
  return text.slice(code.length + 2);
}

const request = (spec: RequestSpec) => client.request(spec);
const block1 = (num: number, more: boolean) => ({ name: 'Block1', value: uint((num << 4) | (more ? 8 : 0)) });

describe.each([['lean', []], ['node-coap', ['--coap-engine', 'node-coap']]])('CoAP diagnostics on the %s engine', (_engine, flags) => {
  beforeAll(async () => {
    t = await startCoapServer(['--max-body-bytes', '64', ...flags]);
    client = await RawClient.open(t.port);
    token = await createTwin(t, 'diag-1', { temp: 21 });
  });
  afterAll(async () => {
    await client?.close();
    await t?.stop();
  });

  it('from the resources: a wrong method, an unknown twin, an unserved Accept, a stale If-Match', async () => {
    expect(expectDiagnostic(await request({ method: 'DELETE', path: '/t/diag-1', query: q() }), '4.05', 'method_not_allowed'))
      .toBe('Method DELETE not allowed on "/t/diag-1": use GET');
    expect(expectDiagnostic(await request({ method: 'POST', path: '/.well-known/core' }), '4.05', 'method_not_allowed')).toMatch(/use GET$/);
    expectDiagnostic(await request({ path: '/t/no-such-twin', query: q() }), '4.03', 'forbidden');
    expect(expectDiagnostic(await request({ path: '/t/diag-1', query: q(), accept: 0 }), '4.06', 'unsupported_format')).toMatch(/^Accept 0 is not served/);
    expectDiagnostic(await request({ method: 'PUT', path: '/t/diag-1/reported', query: q(), format: 0, payload: 'x' }), '4.15', 'unsupported_format');
    expectDiagnostic(await request({ method: 'PUT', path: '/t/diag-1/reported', query: q(), format: 50, ifMatch: uint(99), payload: '{"a":1}' }), '4.12', 'version_conflict');
  });

  it('from the request screen: an unknown method, an unrecognized critical option, a proxy request, a bad Block2', async () => {
    const tokenOf = Buffer.from('f00d', 'hex');
    client.sendRaw(generate({ code: '0.05', confirmable: true, messageId: 4242, token: tokenOf, options: [{ name: 'Uri-Path', value: Buffer.from('t') }] }));
    const fetched = await client.next((p) => p.token.equals(tokenOf), 5000, 'the 4.05');
    expect(expectDiagnostic(fetched, '4.05', 'method_not_allowed')).toBe('Method 0.05 not allowed: use GET, PUT or POST');
    expect(expectDiagnostic(await request({ path: '/t/diag-1', query: q(), extra: [{ name: '9', value: Buffer.of(1) }] }), '4.02', 'invalid_request'))
      .toBe('Unsupported critical option 9');
    expectDiagnostic(await request({ path: '/t/diag-1', extra: [{ name: 'Proxy-Uri', value: Buffer.from('coap://x/') }] }), '5.05', 'invalid_request');
    expect(expectDiagnostic(await request({ path: '/t/diag-1', query: q(), block2: Buffer.of(0x0f) }), '4.00', 'invalid_request')).toBe('Malformed Block2 option');
  });

  it('from Block1 reassembly: an unknown transfer, and a body over the limit with Size1', async () => {
    const put = (num: number, more: boolean, tok: Buffer) => request({
      method: 'PUT', path: '/t/diag-1/reported', query: q(), format: 50, token: tok, payload: Buffer.alloc(16, 0x20), extra: [block1(num, more)],
    });
    expect(expectDiagnostic(await put(3, true, Buffer.from('b1')), '4.08', 'invalid_request')).toMatch(/^Block1 transfer unknown or expired/);
    const tok = Buffer.from('b2');
    for (let num = 0; num < 4; num++) expect((await put(num, true, tok)).code).toBe('2.31');
    const over = await put(4, true, tok);
    expect(expectDiagnostic(over, '4.13', 'too_large')).toBe('Body over 64 bytes');
    expect(readUint(option(over, 'Size1'))).toBe(64);
  });

  it('from Block2 slicing: a block past the end of the reply', async () => {
    const res = await request({ path: '/t/diag-1', query: q(), block2: uint((40 << 4) | 0) });
    expect(expectDiagnostic(res, '4.02', 'invalid_request')).toMatch(/^Block2 block 40 is past the end of the \d+-byte reply$/);
    expect(option(res, 'Block2')).toBeUndefined();
  });
});
