/**
 * CoAP after shutdown: once the server has stopped, its UDP socket is closed and a request gets no
 * answer at all (the client retransmits and gives up, RFC 7252 §4.2). The 5.03 answers while a
 * drain is held open are in test/in-process/coap-drain.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTwin, RawClient, startCoapServer } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('CoAP during shutdown', () => {
  it('stops answering once the server has stopped: no reply, no crash', async () => {
    const t = await startCoapServer();
    let stopped = false;
    cleanups.push(async () => { if (!stopped) await t.stop(); });
    const c = await RawClient.open(t.port);
    cleanups.push(() => c.close());
    const token = await createTwin(t, 'gone-1', { temp: 21 });
    expect((await c.request({ method: 'PUT', path: '/t/gone-1/reported', query: [`token=${token}`], payload: '{"temp":20}' })).code).toBe('2.04');
    await t.stop();
    stopped = true;
    await expect(c.request({ path: '/t/gone-1', query: [`token=${token}`] }, 1500)).rejects.toThrow(/timed out/);
  });
});
