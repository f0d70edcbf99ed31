/**
 * Device sessions (CONTRACT §7): a device token gets its delta on connect and whenever it changes,
 * reports with `report` (the reply carries the new version and delta), reads its device view with
 * `get`, and shows as online via "ws" while connected.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createTwin, deviceToken, eventually, getTwin, metric, patchTwin } from './helpers.ts';
import type { Client } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (token: string): Promise<Client> => { const c = await connect(t, token); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

describe('device session', () => {
  it('sends the delta on connect and whenever it changes, but not for changes that keep it', async () => {
    await createTwin(t, 'dev-1', { desired: { temp: 21, mode: 'eco' } });
    const d = await open(await deviceToken(t, 'dev-1'));
    expect(await d.next()).toEqual({ op: 'delta', twin: 'dev-1', version: 1, delta: { temp: 21, mode: 'eco' } });
    await patchTwin(t, 'dev-1', { desired: { temp: 22 } });
    expect(await d.next()).toEqual({ op: 'delta', twin: 'dev-1', version: 2, delta: { temp: 22, mode: 'eco' } });
    // Tags and a desired value equal to the current one leave the delta as it is: no message.
    await patchTwin(t, 'dev-1', { tags: { site: 'berlin' } });
    await patchTwin(t, 'dev-1', { desired: { unrelated: null } });
    await patchTwin(t, 'dev-1', { desired: { mode: 'comfort' } });
    expect(await d.next()).toEqual({ op: 'delta', twin: 'dev-1', version: 4, delta: { temp: 22, mode: 'comfort' } });
  });

  it('reports with a merge patch and gets {ok, ref, version, delta} back', async () => {
    await createTwin(t, 'dev-2', { desired: { temp: 21 } });
    const d = await open(await deviceToken(t, 'dev-2'));
    await d.next((m) => m.op === 'delta');
    d.send({ op: 'report', ref: 'r1', reported: { temp: 20, fw: '1.0' } });
    expect(await d.next((m) => m.ref === 'r1')).toEqual({ op: 'ok', ref: 'r1', version: 2, delta: { temp: 21 } });
    d.send({ op: 'report', ref: 'r2', reported: { temp: 21 }, clientToken: 'dev-tok' });
    expect(await d.next((m) => m.ref === 'r2')).toEqual({ op: 'ok', ref: 'r2', version: 3, delta: {}, clientToken: 'dev-tok' });
    // The delta went to {}: the device is told.
    expect(await d.next((m) => m.op === 'delta')).toEqual({ op: 'delta', twin: 'dev-2', version: 3, delta: {} });
    const twin = await getTwin(t, 'dev-2');
    expect(twin).toMatchObject({ version: 3, reported: { temp: 21, fw: '1.0' }, sync: { inSync: true } });
    const { items } = await (await t.call('GET', '/v1/twins/dev-2/history?since=2')).json() as { items: { via: string; clientToken?: string }[] };
    expect(items).toMatchObject([{ via: 'ws', clientToken: 'dev-tok' }]);
  });

  it('answers report errors by code: invalid_document and version_conflict', async () => {
    await createTwin(t, 'dev-3');
    const d = await open(await deviceToken(t, 'dev-3'));
    expect(await d.request({ op: 'report', reported: 'hot' })).toMatchObject({ op: 'error', code: 'invalid_document' });
    expect(await d.request({ op: 'report', reported: { a: 1 }, ifVersion: 7 })).toMatchObject({ op: 'error', code: 'version_conflict' });
  });

  it('gets its own device view, without tags or metadata', async () => {
    await createTwin(t, 'dev-4', { desired: { on: true }, tags: { secret: 'x' } });
    const d = await open(await deviceToken(t, 'dev-4'));
    expect(await d.request({ op: 'get' })).toMatchObject({ op: 'twin', twin: { version: 1, desired: { on: true }, reported: {}, delta: { on: true } } });
    const view = await d.request({ op: 'get', twin: 'dev-4' });
    expect(Object.keys(view.twin as object).sort()).toEqual(['delta', 'desired', 'reported', 'version']);
  });

  it('shows the twin online via ws while connected', async () => {
    await createTwin(t, 'dev-5');
    const devices = async () => (await metric(t, 'doppel_ws_connections{kind="device"}'))!;
    const before = await devices();
    const d = await open(await deviceToken(t, 'dev-5'));
    await d.next((m) => m.op === 'delta');
    expect((await getTwin(t, 'dev-5')).connection).toMatchObject({ online: true, via: 'ws' });
    expect(await devices()).toBe(before + 1);
    d.close();
    await d.closed;
    await eventually(async () => ((await devices()) === before ? true : undefined), 'the device session to end');
  });

  it('is told when its twin is deleted and the connection is closed with 4404', async () => {
    await createTwin(t, 'dev-6');
    const d = await open(await deviceToken(t, 'dev-6'));
    await d.next((m) => m.op === 'delta');
    expect((await t.call('DELETE', '/v1/twins/dev-6')).status).toBe(204);
    expect(await d.next()).toEqual({ op: 'deleted', twin: 'dev-6' });
    expect(await d.closed).toEqual({ code: 4404, reason: 'not_found' });
  });
});
