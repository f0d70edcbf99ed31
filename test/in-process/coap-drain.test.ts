/**
 * CoAP during shutdown (`server.close()`): while the server drains (in-flight writes finishing), a
 * request is answered `5.03` with a diagnostic payload; once the drain is over the UDP socket is
 * closed and a request gets no answer at all. Holding the drain open takes a hook into the
 * in-process store, hence this folder (Node only; test/coap/shutdown.test.ts runs on both).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import type { StoreOp } from '../../src/store/types.ts';
import { createTwin, json, RawClient, startCoapServer } from '../coap/helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('CoAP during shutdown', () => {
  it('answers 5.03 with a diagnostic while draining, and nothing once the socket is closed', async () => {
    const t: TestServer & { port: number } = await startCoapServer();
    let stopped = false;
    cleanups.push(async () => { if (!stopped) await t.stop(); });
    const c = await RawClient.open(t.port);
    cleanups.push(() => c.close());
    const token = await createTwin(t, 'down-1', { temp: 21 });
    await createTwin(t, 'down-2', { temp: 21 });
    const ok = await c.request({ method: 'PUT', path: '/t/down-1/reported', query: [`token=${token}`], payload: '{"temp":20}' });
    expect(ok.code).toBe('2.04');

    // Hold the next store commit: an HTTP write stays in flight, so the drain cannot finish.
    const store = t.local!.store;
    const commit = store.commit.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let held = 0;
    store.commit = async (ops: StoreOp[]) => { held++; await gate; return commit(ops); };
    const inFlight = t.call('PATCH', '/v1/twins/down-2', { body: { desired: { temp: 22 } } });
    const deadline = Date.now() + 5000;
    while (held === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(held).toBe(1);

    const closed = t.server.close();
    let closedYet = false;
    void closed.then(() => { closedYet = true; });
    // Draining: a CoAP write is refused with 5.03 and a "<code>: <message>" diagnostic.
    const refused = await c.request({ method: 'PUT', path: '/t/down-1/reported', query: [`token=${token}`], payload: '{"temp":19}' });
    expect(refused.code).toBe('5.03');
    expect(refused.payload.toString('utf8')).toMatch(/^unavailable: .+/);
    // A read too.
    const read = await c.request({ path: '/t/down-1', query: [`token=${token}`] });
    expect(read.code).toBe('5.03');
    expect(closedYet).toBe(false);

    // The held write finishes and gets its reply; then the server closes.
    release();
    expect((await inFlight).status).toBe(200);
    await closed;
    stopped = true;
    await t.stop(); // removes the data dir; close() is idempotent

    // Socket closed: a request gets no reply (no crash, nothing hangs on the server side).
    await expect(c.request({ path: '/t/down-1', query: [`token=${token}`] }, 1500)).rejects.toThrow(/timed out/);
    expect(c.received.filter((p) => p.code !== '0.00')).toEqual([]);
    expect(json(ok)).toMatchObject({ delta: { temp: 21 } });
  });
});
