import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN, startTestServer, TEST_RUNTIME } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { wsUrl } from './helpers.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(['--ws-ping-seconds', '1']); });
afterAll(async () => { await t.stop(); });

function openSocket(opts: { autoPong: boolean }): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(wsUrl(t), { headers: { authorization: `Bearer ${ADMIN}` }, autoPong: opts.autoPong });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
  });
}

describe('WebSocket heartbeat', () => {
  it('drops a peer that answers no ping for two intervals, and keeps one that does', async () => {
    const silent = await openSocket({ autoPong: false });
    const alive = await openSocket({ autoPong: true });
    const started = Date.now();
    // Node's adapter terminates the silent peer (no close frame: 1006 on this side); Deno's built-in
    // heartbeat (idleTimeout) sends a 1001 close frame first. Either way the peer is dropped.
    expect(await silent.closed).toBe(TEST_RUNTIME === 'deno' ? 1001 : 1006);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    // The responsive peer is still open well past the silent one's end and still answers.
    await new Promise((r) => setTimeout(r, 1200));
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    const reply = new Promise<string>((resolve) => alive.ws.once('message', (d) => resolve(d.toString())));
    alive.ws.send(JSON.stringify({ op: 'get', ref: 'x', twin: 'nope' }));
    expect(JSON.parse(await reply)).toMatchObject({ op: 'error', ref: 'x', code: 'not_found' });
    alive.ws.close();
    await alive.closed;
  });
});
