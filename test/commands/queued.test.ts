/**
 * Queued commands over HTTP against a real server: invoke (202 + Location), list newest first,
 * long poll until the device answers, cancel, expiry, the device side with the device token (the
 * listing delivers, the first answer wins), authorization and removal with the twin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson, expectProblem } from '../http/helpers.ts';
import { metric } from '../support/metric.ts';
import { apiKey, queue, twinWithToken } from './helpers.ts';
import type { CommandJson } from './helpers.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

const list = async (twin: string, query = '', token?: string) =>
  (await expectJson<{ items: CommandJson[] }>(await t.call('GET', `/v1/twins/${twin}/commands${query}`, token === undefined ? {} : { token }), 200)).items;

describe('queued commands', () => {
  it('stores a command (202 + Location) and lists it newest first', async () => {
    await twinWithToken(t, 'q-1');
    const res = await t.call('POST', '/v1/twins/q-1/commands', { body: { name: 'reboot', payload: { delay: 5 }, ttlSeconds: 600 } });
    const first = await expectJson<CommandJson>(res, 202);
    expect(res.headers.get('location')).toBe(`/v1/twins/q-1/commands/${first.id}`);
    expect(first).toMatchObject({ name: 'reboot', payload: { delay: 5 }, status: 'queued' });
    expect(Date.parse(first.expiresAt!) - Date.parse(first.createdAt)).toBe(600_000);
    expect(first).not.toHaveProperty('twin');
    const second = await queue(t, 'q-1', { name: 'selftest', ttlSeconds: 60 });
    expect(second.payload).toBeNull();
    expect((await list('q-1')).map((c) => c.id)).toEqual([second.id, first.id]);
    expect((await list('q-1', '?status=delivered'))).toEqual([]);
    expect(await expectJson(await t.call('GET', `/v1/twins/q-1/commands/${first.id}`), 200)).toEqual(first);
  });

  it('the device lists its queued commands (now delivered) and answers; the first answer wins', async () => {
    const device = await twinWithToken(t, 'q-2');
    const cmd = await queue(t, 'q-2', { name: 'open-valve', payload: { valve: 2 }, ttlSeconds: 600 });
    const seen = await list('q-2', '?status=queued', device);
    expect(seen).toMatchObject([{ id: cmd.id, name: 'open-valve', status: 'delivered' }]);
    expect(await list('q-2', '?status=queued', device)).toEqual([]);
    expect((await list('q-2'))[0]!.status).toBe('delivered');

    const answer = (body: unknown) => t.call('POST', `/v1/twins/q-2/commands/${cmd.id}/result`, { body, token: device });
    const done = await expectJson<CommandJson>(await answer({ status: 'succeeded', result: { opened: true } }), 200);
    expect(done).toMatchObject({ status: 'succeeded', result: { opened: true } });
    await expectProblem(await answer({ status: 'failed' }), 409, 'command_ended');
    await expectProblem(await t.call('DELETE', `/v1/twins/q-2/commands/${cmd.id}`), 409, 'command_ended');
    await expectProblem(await t.call('POST', '/v1/twins/q-2/commands/zzz999/result', { body: { status: 'failed' }, token: device }), 404, 'not_found');
    expect((await list('q-2'))[0]).toMatchObject({ status: 'succeeded', result: { opened: true } });
  });

  it('a long poll answers as soon as the device does', async () => {
    const device = await twinWithToken(t, 'q-3');
    const cmd = await queue(t, 'q-3', { name: 'measure', ttlSeconds: 600 });
    const polled = t.call('GET', `/v1/twins/q-3/commands/${cmd.id}?waitMs=60000`);
    // The poll is registered once it has read the command; answering before that only makes the poll return at once.
    await expectJson(await t.call('POST', `/v1/twins/q-3/commands/${cmd.id}/result`, { body: { status: 'failed', result: 'sensor fault' }, token: device }), 200);
    expect(await expectJson(await polled, 200)).toMatchObject({ status: 'failed', result: 'sensor fault' });
    // An open command's poll ends after waitMs, showing it still open.
    const other = await queue(t, 'q-3', { name: 'measure', ttlSeconds: 600 });
    expect(await expectJson(await t.call('GET', `/v1/twins/q-3/commands/${other.id}?waitMs=50`), 200)).toMatchObject({ status: 'queued' });
  });

  it('cancels an open command; the device answer afterwards is command_ended', async () => {
    const device = await twinWithToken(t, 'q-4');
    const cmd = await queue(t, 'q-4', { name: 'reboot', ttlSeconds: 600 });
    expect(await expectJson(await t.call('DELETE', `/v1/twins/q-4/commands/${cmd.id}`), 200)).toMatchObject({ status: 'cancelled' });
    await expectProblem(await t.call('POST', `/v1/twins/q-4/commands/${cmd.id}/result`, { body: { status: 'succeeded' }, token: device }), 409, 'command_ended');
  });

  it('expires at expiresAt, waking a long poll', async () => {
    await twinWithToken(t, 'q-5');
    const cmd = await queue(t, 'q-5', { name: 'reboot', ttlSeconds: 1 });
    const polled = await expectJson<CommandJson>(await t.call('GET', `/v1/twins/q-5/commands/${cmd.id}?waitMs=30000`), 200);
    expect(polled.status).toBe('expired');
    expect(await list('q-5', '?status=expired')).toHaveLength(1);
  });

  it('returns the same command for a repeated clientToken', async () => {
    await twinWithToken(t, 'q-6');
    const a = await queue(t, 'q-6', { name: 'reboot', ttlSeconds: 60, clientToken: 'once' });
    const b = await queue(t, 'q-6', { name: 'reboot', ttlSeconds: 60, clientToken: 'once' });
    expect(b.id).toBe(a.id);
    expect(await list('q-6')).toHaveLength(1);
  });

  it('refuses bad input with a stable code, storing nothing', async () => {
    await twinWithToken(t, 'q-7');
    const post = (body: unknown) => t.call('POST', '/v1/twins/q-7/commands', { body });
    await expectProblem(await post({ name: 'bad name', ttlSeconds: 60 }), 400, 'invalid_request');
    await expectProblem(await post({ name: 'x'.repeat(65), ttlSeconds: 60 }), 400, 'invalid_request');
    await expectProblem(await post({ name: 'ok', ttlSeconds: 0 }), 400, 'invalid_request');
    await expectProblem(await post({ name: 'ok', ttlSeconds: 2_592_001 }), 400, 'invalid_request');
    await expectProblem(await post({ name: 'ok', ttlSeconds: 60, extra: 1 }), 400, 'invalid_request');
    await expectProblem(await post({ name: 'ok', ttlSeconds: 60, payload: 'x'.repeat(33 * 1024) }), 413, 'too_large');
    // A reserved key is refused, not renamed by the store's CBOR decoding (cbor-x turns it into "__proto_").
    await expectProblem(await post({ name: 'ok', ttlSeconds: 60, payload: { a: [JSON.parse('{"__proto__":{"polluted":1}}')] } }), 400, 'invalid_document');
    await expectProblem(await t.call('GET', '/v1/twins/q-7/commands?status=done'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/q-7/commands/abc?waitMs=60001'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/q-7/commands/ABC!'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/q-7/commands/abc123'), 404, 'not_found');
    await expectProblem(await t.call('POST', '/v1/twins/nope/commands', { body: { name: 'ok', ttlSeconds: 60 } }), 404, 'not_found');
    expect(await list('q-7')).toEqual([]);
  });

  it('a direct command to a device with no live session is device_offline at once', async () => {
    await twinWithToken(t, 'q-8');
    await expectProblem(await t.call('POST', '/v1/twins/q-8/commands', { body: { name: 'ping' } }), 409, 'device_offline');
    expect(await list('q-8')).toEqual([]);
  });

  it('authorizes: twins:write to invoke and cancel, twins:read to read, a device only its own twin', async () => {
    const own = await twinWithToken(t, 'q-auth-1');
    const other = await twinWithToken(t, 'q-auth-2');
    const reader = await apiKey(t, ['twins:read']);
    const writer = await apiKey(t, ['twins:write']);
    const prefixed = await apiKey(t, ['twins:read', 'twins:write'], 'q-auth-2');
    const body = { name: 'reboot', ttlSeconds: 60 };
    await expectProblem(await t.call('POST', '/v1/twins/q-auth-1/commands', { body, token: reader }), 403, 'forbidden');
    await expectProblem(await t.call('POST', '/v1/twins/q-auth-1/commands', { body, token: own }), 403, 'forbidden');
    await expectProblem(await t.call('POST', '/v1/twins/q-auth-1/commands', { body, token: prefixed }), 403, 'forbidden');
    await expectProblem(await t.call('POST', '/v1/twins/q-auth-1/commands', { body, token: null }), 401, 'unauthorized');
    const cmd = await queue(t, 'q-auth-1', body, writer);
    await expectProblem(await t.call('GET', '/v1/twins/q-auth-1/commands', { token: writer }), 403, 'forbidden');
    expect(await list('q-auth-1', '', reader)).toHaveLength(1);
    await expectProblem(await t.call('GET', '/v1/twins/q-auth-1/commands', { token: other }), 403, 'forbidden');
    await expectProblem(await t.call('POST', `/v1/twins/q-auth-1/commands/${cmd.id}/result`, { body: { status: 'succeeded' }, token: other }), 403, 'forbidden');
    await expectProblem(await t.call('POST', `/v1/twins/q-auth-1/commands/${cmd.id}/result`, { body: { status: 'succeeded' }, token: writer }), 403, 'forbidden');
    await expectProblem(await t.call('DELETE', `/v1/twins/q-auth-1/commands/${cmd.id}`, { token: reader }), 403, 'forbidden');
    await queue(t, 'q-auth-2', body, prefixed);
    expect((await list('q-auth-1'))[0]!.status).toBe('queued');
  });

  it('commands go with the twin on delete', async () => {
    await twinWithToken(t, 'q-9');
    await queue(t, 'q-9', { name: 'reboot', ttlSeconds: 60 });
    expect((await t.call('DELETE', '/v1/twins/q-9')).status).toBe(204);
    await twinWithToken(t, 'q-9');
    expect(await list('q-9')).toEqual([]);
  });

  it('counts commands by status in /metrics, with their duration', async () => {
    const before = await metric(t, 'doppel_commands_total{status="succeeded"}') ?? 0;
    const device = await twinWithToken(t, 'q-10');
    const cmd = await queue(t, 'q-10', { name: 'reboot', ttlSeconds: 60 });
    await expectJson(await t.call('POST', `/v1/twins/q-10/commands/${cmd.id}/result`, { body: { status: 'succeeded' }, token: device }), 200);
    expect(await metric(t, 'doppel_commands_total{status="succeeded"}')).toBe(before + 1);
    expect(await metric(t, 'doppel_commands_total{status="queued"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(t, 'doppel_command_duration_seconds_count{status="succeeded"}')).toBeGreaterThanOrEqual(1);
  });
});
