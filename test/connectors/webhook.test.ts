/**
 * Webhook connectors against a real HTTP receiver: signed `{type, event}` bodies, order per twin,
 * prefix/filter/event selection, outages (500, down, hung) with recovery, maxAgeSeconds drops, a
 * slow target beside a healthy one, and the delivery numbers in the API and /metrics.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { inOrderUpTo, Receiver } from './receiver.ts';

const SECRET = 'a-webhook-secret-0123456789';

describe('webhook connectors', () => {
  let t: TestServer;
  const receivers: Receiver[] = [];
  let n = 0;

  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t.stop(); });
  afterEach(async () => { await Promise.all(receivers.splice(0).map((r) => r.stop())); });

  async function receiver(): Promise<Receiver> {
    const r = new Receiver(SECRET);
    await r.start();
    receivers.push(r);
    return r;
  }

  async function connector(body: Record<string, unknown>): Promise<string> {
    const id = `hook-${++n}`;
    const res = await t.call('POST', '/v1/connectors', { body: { id, kind: 'webhook', secret: SECRET, ...body } });
    expect(res.status, await res.clone().text()).toBe(201);
    return id;
  }

  async function status(id: string): Promise<Record<string, unknown>> {
    const res = await t.call('GET', `/v1/connectors/${id}`);
    expect(res.status).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  }

  async function writes(twin: string, count: number): Promise<void> {
    expect((await t.call('POST', '/v1/twins', { body: { id: twin } })).status).toBe(201);
    for (let i = 0; i < count - 1; i++) expect((await t.call('PATCH', `/v1/twins/${twin}`, { body: { desired: { i } } })).status).toBe(200);
  }

  it('posts each change signed, as {type, event}, with its event id, in version order', async () => {
    const r = await receiver();
    const id = await connector({ url: r.url, prefix: 'wh-a-' });
    await writes('wh-a-1', 5);
    await writes('other-1', 2);
    await eventually(async () => (r.received.length >= 5 ? true : undefined), '5 deliveries');
    expect(r.badSignatures).toBe(0);
    expect(r.versionsOf('wh-a-1')).toEqual([1, 2, 3, 4, 5]);
    expect(r.received.map((d) => d.eventId)).toEqual(['wh-a-1:1', 'wh-a-1:2', 'wh-a-1:3', 'wh-a-1:4', 'wh-a-1:5']);
    expect(r.received[1]).toMatchObject({ type: 'change', event: { twin: 'wh-a-1', version: 2, patch: { desired: { i: 0 } } } });
    const s = await eventually(async () => { const v = await status(id); return v.delivered === 5 && v.lag === 0 ? v : undefined; }, 'caught up');
    expect(s).toMatchObject({ state: 'healthy', failed: 0, lastError: null, kind: 'webhook', url: r.url });
    expect(s).not.toHaveProperty('secret');
    const list = await (await t.call('GET', '/v1/connectors')).json() as { items: Record<string, unknown>[] };
    expect(list.items.find((c) => c.id === id)).not.toHaveProperty('secret');
  }, 30_000);

  it('selects by filter on the twin after the change, and sends deletions when asked', async () => {
    const r = await receiver();
    await connector({ url: r.url, prefix: 'wh-f-', filter: 'desired.hot == true', events: ['change', 'deleted'] });
    expect((await t.call('POST', '/v1/twins', { body: { id: 'wh-f-1' } })).status).toBe(201);
    expect((await t.call('PATCH', '/v1/twins/wh-f-1', { body: { desired: { hot: true } } })).status).toBe(200);
    expect((await t.call('PATCH', '/v1/twins/wh-f-1', { body: { desired: { x: 1 } } })).status).toBe(200);
    expect((await t.call('DELETE', '/v1/twins/wh-f-1')).status).toBe(204);
    await eventually(async () => (r.received.some((d) => d.type === 'deleted') ? true : undefined), 'the deletion');
    expect(r.received.map((d) => d.eventId)).toEqual(['wh-f-1:2', 'wh-f-1:3', 'wh-f-1:3:deleted']);
    expect(r.received[2]).toMatchObject({ type: 'deleted', event: { twin: 'wh-f-1', version: 3 } });
  }, 30_000);

  it('sends command status changes when asked, each with its own event id', async () => {
    const r = await receiver();
    await connector({ url: r.url, prefix: 'wh-c-', events: ['command'] });
    expect((await t.call('POST', '/v1/twins', { body: { id: 'wh-c-1' } })).status).toBe(201);
    const queued = await t.call('POST', '/v1/twins/wh-c-1/commands', { body: { name: 'reboot', ttlSeconds: 600 } });
    expect(queued.status).toBe(202);
    const { id: cid } = await queued.json() as { id: string };
    expect((await t.call('DELETE', `/v1/twins/wh-c-1/commands/${cid}`)).status).toBe(200);
    await eventually(async () => (r.received.length >= 2 ? true : undefined), 'two command events');
    expect(r.received.map((d) => d.eventId)).toEqual([`wh-c-1:cmd:${cid}:queued`, `wh-c-1:cmd:${cid}:cancelled`]);
    expect(r.received[1]).toMatchObject({ type: 'command', event: { id: cid, twin: 'wh-c-1', name: 'reboot', status: 'cancelled' } });
  }, 30_000);

  it('retries through 500s, a receiver that is down and one that hangs, then delivers everything in order', async () => {
    const r = await receiver();
    const id = await connector({ url: r.url, prefix: 'wh-o-', timeoutSeconds: 1 });
    for (const [mode, twin] of [['fail', 'wh-o-500'], ['hang', 'wh-o-hang'], ['down', 'wh-o-down']] as const) {
      if (mode === 'down') await r.stop(); else r.mode = mode;
      await writes(twin, 4);
      await eventually(async () => { const s = await status(id); return s.state === 'failing' && (s.lag as number) > 0 ? s : undefined; }, `failing while ${mode}`);
      if (mode === 'down') await r.start(); else { await r.stop(); r.mode = 'ok'; await r.start(); }
      await eventually(async () => (inOrderUpTo(r.versionsOf(twin), 4) ? true : undefined), `all of ${twin} after ${mode}`, 60_000);
    }
    const s = await eventually(async () => { const v = await status(id); return v.state === 'healthy' && v.lag === 0 ? v : undefined; }, 'healthy again', 30_000);
    expect(s.failed as number).toBeGreaterThan(0);
    expect(typeof s.lastError).toBe('string');
    expect(r.badSignatures).toBe(0);
  }, 180_000);

  it('drops and counts events older than maxAgeSeconds while the target is down', async () => {
    const r = await receiver();
    const id = await connector({ url: r.url, prefix: 'wh-m-', maxAgeSeconds: 1 });
    r.mode = 'fail';
    await writes('wh-m-1', 3);
    // Counted as dropped, then removed from the outbox: lag returns to 0 once the removal is committed.
    const s = await eventually(async () => { const v = await status(id); return v.dropped === 3 && v.lag === 0 ? v : undefined; }, '3 dropped', 30_000);
    expect(s.delivered).toBe(0);
    r.mode = 'ok';
    expect((await t.call('PATCH', '/v1/twins/wh-m-1', { body: { desired: { late: true } } })).status).toBe(200);
    await eventually(async () => (r.received.length === 1 ? true : undefined), 'the new event');
    expect(r.received[0]!.eventId).toBe('wh-m-1:4');
    const metrics = await (await t.call('GET', '/metrics')).text();
    expect(metrics).toMatch(new RegExp(`doppel_connector_dropped_total\\{connector="${id}"\\} 3`));
    expect(metrics).toMatch(new RegExp(`doppel_connector_delivered_total\\{connector="${id}"\\} 1`));
  }, 60_000);

  it('delivers other twins while one twin\'s events keep failing, however long its backlog', async () => {
    const r = await receiver();
    const id = await connector({ url: r.url, prefix: 'wh-b-' });
    r.failing.add('wh-b-a');
    // More than a worker ever held at once for one twin, and more than one read of the outbox.
    await writes('wh-b-a', 600);
    await writes('wh-b-b', 3);
    await eventually(async () => (r.versionsOf('wh-b-b').length === 3 ? true : undefined), 'twin B', 30_000);
    expect(r.versionsOf('wh-b-b')).toEqual([1, 2, 3]);
    expect(r.versionsOf('wh-b-a')).toEqual([]);
    expect((await status(id)).failed as number).toBeGreaterThan(0);
    r.failing.delete('wh-b-a');
    await eventually(async () => (inOrderUpTo(r.versionsOf('wh-b-a'), 600) ? true : undefined), 'twin A in order once accepted', 90_000);
    await eventually(async () => { const v = await status(id); return v.lag === 0 && v.state === 'healthy' ? v : undefined; }, 'caught up', 30_000);
  }, 180_000);

  it('keeps a healthy connector delivering promptly beside a hung one', async () => {
    const slow = await receiver();
    const fast = await receiver();
    slow.mode = 'hang';
    await connector({ url: slow.url, prefix: 'wh-s-', timeoutSeconds: 30 });
    await connector({ url: fast.url, prefix: 'wh-s-' });
    await writes('wh-s-1', 3);
    await writes('wh-s-2', 3);
    // Well inside the hung target's 30 s timeout: the healthy one did not wait for it.
    await eventually(async () => (fast.versionsOf('wh-s-1').length === 3 && fast.versionsOf('wh-s-2').length === 3 ? true : undefined), 'the healthy target', 15_000);
    expect(slow.received).toEqual([]);
  }, 60_000);

  it('refuses bad definitions with clear errors and changes nothing', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ id: 'b1', kind: 'webhook', url: 'ftp://x/y', secret: SECRET }, /must use http or https/],
      [{ id: 'b2', kind: 'webhook', url: 'not a url', secret: SECRET }, /not a URL/],
      [{ id: 'b3', kind: 'carrier-pigeon', url: 'http://x' }, /kind/],
      [{ id: 'b4', kind: 'webhook', url: 'http://x', secret: SECRET, filter: 'reported.temp >' }, /filter.*at 16/],
      [{ id: 'b5', kind: 'nats', url: 'nats://x:4222', subject: 'a.*' }, /subject/],
      [{ id: 'b6', kind: 'mqtt', url: 'mqtt://x', topic: 'a/#' }, /topic/],
      [{ id: 'b 7', kind: 'webhook', url: 'http://x', secret: SECRET }, /id/],
      [{ id: 'b8', kind: 'webhook', url: 'http://x', secret: 'short' }, /secret/],
      [{ id: 'b9', kind: 'webhook', url: 'http://x', secret: SECRET, events: ['exploded'] }, /events/],
    ];
    for (const [body, message] of bad) {
      const res = await t.call('POST', '/v1/connectors', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = await res.json() as { code: string; detail: string };
      expect(problem.code).toBe('invalid_request');
      expect(problem.detail).toMatch(message);
    }
    const list = await (await t.call('GET', '/v1/connectors')).json() as { items: { id: string }[] };
    expect(list.items.filter((c) => c.id.startsWith('b'))).toEqual([]);
    const ok = { id: 'dup', kind: 'webhook', url: 'http://127.0.0.1:9/x', secret: SECRET, prefix: 'never-' };
    expect((await t.call('POST', '/v1/connectors', { body: ok })).status).toBe(201);
    const dup = await t.call('POST', '/v1/connectors', { body: ok });
    expect(dup.status).toBe(409);
    expect((await t.call('DELETE', '/v1/connectors/dup')).status).toBe(204);
    expect((await t.call('GET', '/v1/connectors/dup')).status).toBe(404);
  }, 30_000);

  it('is admin only', async () => {
    const key = await (await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read', 'twins:write', 'keys:admin'] } })).json() as { token: string };
    expect((await t.call('GET', '/v1/connectors', { token: key.token })).status).toBe(403);
    expect((await t.call('POST', '/v1/connectors', { token: key.token, body: { id: 'k', kind: 'webhook', url: 'http://x', secret: SECRET } })).status).toBe(403);
    expect((await t.call('GET', '/v1/connectors', { token: null })).status).toBe(401);
  });
});
