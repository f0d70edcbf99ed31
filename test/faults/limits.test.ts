/**
 * Resource caps answer with a clear error instead of growing without bound: long-lived streams
 * (WebSocket connections and event streams together) per credential (429 + Retry-After) and in
 * total (503 + Retry-After), refused at the handshake; CoAP observations per twin (beyond the cap
 * a registration is answered as a plain GET, RFC 7641 §4.1). Each cap frees up again as streams end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwin as createDevice, option, RawClient, startCoapServer } from '../coap/helpers.ts';
import { openSse } from '../http/helpers.ts';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createKey, handshake, wsUrl } from '../ws/helpers.ts';
import type { Client } from '../ws/helpers.ts';

describe('stream caps', () => {
  let t: TestServer;
  const open: Client[] = [];
  beforeAll(async () => {
    t = await startTestServer(['--max-streams-per-credential', '2', '--max-streams', '5']);
    await t.call('POST', '/v1/twins', { body: { id: 'capped' } });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t.stop();
  });

  it('refuses a credential its third stream with 429 and Retry-After, on WebSocket and SSE alike, and lets others in', async () => {
    const key = await createKey(t, { scopes: ['twins:read'] });
    open.push(await connect(t, key));
    const sse = await openSse(t, '/v1/twins/capped/events', { token: key });
    expect(sse.response.status).toBe(200);

    const refused = await handshake(wsUrl(t), { authorization: `Bearer ${key}` });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'rate_limited' });
    const refusedSse = await openSse(t, '/v1/twins/capped/events', { token: key });
    expect(refusedSse.response.status).toBe(429);
    expect(refusedSse.response.headers.get('retry-after')).toBe('5');

    // Another key is not affected; the admin token counts only toward the total.
    const other = await createKey(t, { scopes: ['twins:read'] });
    open.push(await connect(t, other));

    // When one of the key's streams ends, its slot is free again.
    sse.stream!.close();
    await eventually(async () => ((await metric(t, 'doppel_streams_open')) === 2 ? true : undefined), 'the event stream to end');
    open.push(await connect(t, key));
  });

  it('refuses any stream beyond the server total with 503 and Retry-After, admin included', async () => {
    while (((await metric(t, 'doppel_streams_open')) ?? 0) < 5) open.push(await connect(t, ADMIN));
    const refused = await handshake(wsUrl(t), { authorization: `Bearer ${ADMIN}` });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'unavailable' });
    expect((await openSse(t, '/v1/twins/capped/events')).response.status).toBe(503);
    // Ordinary requests are not streams and still work.
    expect((await t.call('GET', '/v1/twins/capped')).status).toBe(200);
    open.pop()!.close();
    await eventually(async () => ((await metric(t, 'doppel_streams_open')) === 4 ? true : undefined), 'a slot to free');
    open.push(await connect(t, ADMIN));
  });
});

describe('HEAD of an event stream', () => {
  it('answers with the stream\'s headers and holds no stream slot afterwards', async () => {
    const t = await startTestServer(['--max-streams', '2']);
    try {
      await t.call('POST', '/v1/twins', { body: { id: 'headed' } });
      for (let i = 0; i < 3; i++) {
        const res = await t.call('HEAD', '/v1/twins/headed/events');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        await res.arrayBuffer();
      }
      // Before the fix each HEAD kept its stream open: the third already found the cap full.
      await eventually(async () => ((await metric(t, 'doppel_streams_open')) === 0 ? true : undefined), 'every HEAD\'s stream to end');
      const sse = await openSse(t, '/v1/twins/headed/events');
      expect(sse.response.status).toBe(200);
      sse.stream!.close();
    } finally {
      await t.stop();
    }
  });
});

describe('CoAP observations per twin', () => {
  it('answers a registration beyond the per-twin cap as a plain GET, and accepts again once one ends', async () => {
    const t = await startCoapServer(['--coap-max-observers-per-twin', '2']);
    const c = await RawClient.open(t.port);
    try {
      const token = await createDevice(t, 'watched', { temp: 21 });
      const register = () => c.request({ path: '/t/watched/desired', observe: 0, query: [`token=${token}`] });
      const first = await register();
      const second = await register();
      for (const r of [first, second]) expect(option(r, 'Observe')).toBeDefined();
      const third = await register();
      expect(third.code).toBe('2.05');
      expect(option(third, 'Observe')).toBeUndefined();
      // Another twin has its own budget.
      const otherToken = await createDevice(t, 'other', { temp: 1 });
      expect(option(await c.request({ path: '/t/other/desired', observe: 0, query: [`token=${otherToken}`] }), 'Observe')).toBeDefined();
      // Deregistering (Observe: 1 with the same token, RFC 7641 §3.6) frees a slot.
      await c.request({ path: '/t/watched/desired', observe: 1, token: first.token, query: [`token=${token}`] });
      expect(option(await register(), 'Observe')).toBeDefined();
    } finally {
      await c.close();
      await t.stop();
    }
  });
});
