/**
 * Interop with real clients: libcoap's `coap-client-notls` (C, the reference implementation most
 * device SDKs resemble) and node-coap's client Agent.
 */
import { Agent, request } from 'coap';
import type { IncomingMessage } from 'coap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { createTwin, libcoap, startCoapServer } from './helpers.ts';

let t: TestServer & { port: number };
let token: string;
// Our own Agent: node-coap's global one closes its socket when idle (ERR_SOCKET_DGRAM_NOT_RUNNING).
const agent = new Agent({ type: 'udp4' });

beforeAll(async () => {
  t = await startCoapServer();
  token = await createTwin(t, 'lib-1', { temp: 21 });
});
afterAll(async () => {
  await t?.stop();
  agent.close();
});

const uri = (path: string) => `coap://127.0.0.1:${t.port}${path}?token=${token}`;

function nodeCoap(method: 'GET' | 'PUT', path: string, payload?: Buffer, options: Record<string, Buffer> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: '127.0.0.1', port: t.port, pathname: path, query: `token=${token}`, method, agent, confirmable: true });
    for (const [name, value] of Object.entries(options)) req.setOption(name, value);
    req.on('response', resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

describe('libcoap coap-client-notls', () => {
  it('GETs the device view and PUTs reported (JSON)', async () => {
    const get = await libcoap(['-B', '5', '-m', 'get', uri('/t/lib-1')]);
    expect(JSON.parse(get.stdout)).toEqual({ version: 1, desired: { temp: 21 }, reported: {}, delta: { temp: 21 } });
    const put = await libcoap(['-B', '5', '-m', 'put', '-t', '50', '-e', '{"temp":20,"fw":"2.0"}', uri('/t/lib-1/reported')]);
    expect(JSON.parse(put.stdout)).toEqual({ version: 2, delta: { temp: 21 } });
  });

  it('POSTs reported non-confirmable (-N)', async () => {
    const post = await libcoap(['-B', '5', '-N', '-m', 'post', '-t', '50', '-e', '{"temp":21}', uri('/t/lib-1/reported')]);
    expect(JSON.parse(post.stdout)).toEqual({ version: 3, delta: {} });
  });

  it('sends If-Match with -O 1,0x.. as the README shows: 4.12 on a stale version', async () => {
    const stale = await libcoap(['-B', '5', '-m', 'put', '-t', '50', '-O', '1,0x01', '-e', '{"temp":1}', uri('/t/lib-1/reported')]);
    expect(`${stale.stdout}${stale.stderr}`).toMatch(/4\.12 version_conflict: /);
    const fresh = await libcoap(['-B', '5', '-m', 'put', '-t', '50', '-O', '1,0x03', '-e', '{"temp":21}', uri('/t/lib-1/reported')]);
    expect(JSON.parse(fresh.stdout)).toEqual({ version: 3, delta: {} });
  });

  it('gets CBOR with -A 60', async () => {
    const get = await libcoap(['-B', '5', '-m', 'get', '-A', '60', uri('/t/lib-1/desired')]);
    // libcoap prints binary payloads as they are: a map of one pair {"temp": 21}.
    // (coap-client ends its output with a newline)
    expect(get.bytes.subarray(0, 7)).toEqual(Buffer.from([0xa1, 0x64, ...Buffer.from('temp'), 0x15]));
  });
});

describe('node-coap client', () => {
  it('GETs and PUTs in JSON and CBOR', async () => {
    const got = await nodeCoap('GET', '/t/lib-1/desired');
    expect(got.code).toBe('2.05');
    expect(JSON.parse(got.payload.toString())).toEqual({ temp: 21 });
    const put = await nodeCoap('PUT', '/t/lib-1/reported', Buffer.from('{"mode":"eco"}'), { 'Content-Format': Buffer.from([50]) });
    expect(put.code).toBe('2.04');
    expect(JSON.parse(put.payload.toString())).toEqual({ version: 4, delta: {} });
    const cbor = await nodeCoap('PUT', '/t/lib-1/reported', Buffer.from([0xa1, 0x61, 0x6e, 0x01]), { 'Content-Format': Buffer.from([60]) });
    expect(cbor.code).toBe('2.04');
    expect([...cbor.payload]).toEqual([0xa2, 0x67, ...Buffer.from('version'), 0x05, 0x65, ...Buffer.from('delta'), 0xa0]);
  });

  it('observes desired: the first answer, then a notification per change made over HTTP', async () => {
    const notifications: string[] = [];
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ hostname: '127.0.0.1', port: t.port, pathname: '/t/lib-1/desired', query: `token=${token}`, observe: true, agent });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    // Kept as text: when the server stops, the relation ends with a 5.03 whose payload is a diagnostic.
    stream.on('data', (chunk: Buffer) => notifications.push(chunk.toString()));
    // The stream stays open: node-coap's Agent closes its socket once nothing is pending, so an
    // eager deregistration would fail with "Not running"; stopping the server ends the relation.
    for (const temp of [30, 31]) {
      const res = await t.call('PATCH', '/v1/twins/lib-1', { body: { desired: { temp } } });
      expect(res.status).toBe(200);
    }
    const deadline = Date.now() + 5000;
    while (notifications.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(notifications.map((n) => JSON.parse(n) as unknown)).toEqual([{ temp: 21 }, { temp: 30 }, { temp: 31 }]);
  });
});
