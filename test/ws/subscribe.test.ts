/**
 * App sessions over a real socket (CONTRACT §7): subscribe by ids, snapshot then changes in order,
 * `ref` echo on every reply, get, patch (desired, tags, ifVersion, clientToken, null clears),
 * unsubscribe, deleted twins, missing twins and the per-connection subscription cap.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { changeVersions, connect, createTwin, getTwin, isChangeOf, isSnapshotOf, patchTwin } from './helpers.ts';
import type { Client, Json } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (): Promise<Client> => { const c = await connect(t); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(['--ws-max-subscriptions', '5']); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

describe('subscribe by twin ids', () => {
  it('answers subscribed with the ref, then a snapshot equal to the HTTP twin, then changes in order', async () => {
    await createTwin(t, 'sub-1', { desired: { temp: 21 }, tags: { site: 'berlin' } });
    const c = await open();
    c.send({ op: 'subscribe', ref: 'one', twins: ['sub-1'] });
    expect(await c.next()).toEqual({ op: 'subscribed', ref: 'one' });
    const snap = await c.next();
    expect(snap).toEqual({ op: 'snapshot', twin: await getTwin(t, 'sub-1') });
    await patchTwin(t, 'sub-1', { desired: { temp: 22 }, clientToken: 'tok' });
    await t.call('PATCH', '/v1/twins/sub-1/reported', { body: { temp: 22 } });
    const [a, b] = await c.take(2);
    expect(a).toEqual({ op: 'change', event: { twin: 'sub-1', version: 2, at: expect.any(String), via: 'http', clientToken: 'tok', patch: { desired: { temp: 22 } }, delta: { temp: 22 } } });
    expect(b).toMatchObject({ op: 'change', event: { version: 3, patch: { reported: { temp: 22 } }, delta: {} } });
  });

  it('echoes numeric refs as numbers', async () => {
    await createTwin(t, 'sub-ref');
    const c = await open();
    c.send({ op: 'get', ref: 42, twin: 'sub-ref' });
    expect(await c.next()).toMatchObject({ op: 'twin', ref: 42, twin: { id: 'sub-ref' } });
  });

  it('subscribes the existing twins of a request and reports each missing one as not_found', async () => {
    await createTwin(t, 'sub-here');
    const c = await open();
    c.send({ op: 'subscribe', ref: 's', twins: ['sub-here', 'sub-missing'] });
    expect(await c.next()).toEqual({ op: 'subscribed', ref: 's' });
    const error = await c.next((m) => m.op === 'error');
    expect(error).toEqual({ op: 'error', ref: 's', code: 'not_found', message: 'No twin "sub-missing"', details: { twin: 'sub-missing' } });
    await c.next(isSnapshotOf('sub-here'));
    await patchTwin(t, 'sub-here', { desired: { x: 1 } });
    expect(await c.next(isChangeOf('sub-here'))).toMatchObject({ event: { version: 2 } });
  });

  it('refuses an invalid twin id for the whole request', async () => {
    const c = await open();
    expect(await c.request({ op: 'subscribe', twins: ['ok-id', 'bad id'] })).toMatchObject({
      op: 'error', code: 'invalid_request', message: 'Invalid twin id "bad id": only A-Z a-z 0-9 . _ : - are allowed',
    });
  });

  it('delivers a change once when the same twin is subscribed twice', async () => {
    await createTwin(t, 'sub-twice');
    const c = await open();
    expect(await c.request({ op: 'subscribe', twins: ['sub-twice'] })).toMatchObject({ op: 'subscribed' });
    expect(await c.request({ op: 'subscribe', twins: ['sub-twice', 'sub-twice'] })).toMatchObject({ op: 'subscribed' });
    await patchTwin(t, 'sub-twice', { desired: { n: 1 } });
    await patchTwin(t, 'sub-twice', { desired: { n: 2 } });
    await c.take(2, isChangeOf('sub-twice'));
    expect(c.received.filter(isSnapshotOf('sub-twice'))).toHaveLength(1);
    expect(changeVersions(c.received, 'sub-twice')).toEqual([2, 3]);
  });

  it('stops sending changes after unsubscribe', async () => {
    await createTwin(t, 'sub-un');
    await createTwin(t, 'sub-un-other');
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['sub-un', 'sub-un-other'] });
    await c.take(2, (m) => m.op === 'snapshot');
    expect(await c.request({ op: 'unsubscribe', twins: ['sub-un', 'never-subscribed'] })).toMatchObject({ op: 'unsubscribed' });
    await patchTwin(t, 'sub-un', { desired: { n: 1 } });
    await patchTwin(t, 'sub-un-other', { desired: { n: 1 } });
    // The other twin's change arrives after the first one's would have: nothing came for sub-un.
    await c.next(isChangeOf('sub-un-other'));
    expect(changeVersions(c.received, 'sub-un')).toEqual([]);
  });

  it('sends deleted when a subscribed twin is deleted and drops the subscription', async () => {
    await createTwin(t, 'sub-del');
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['sub-del'] });
    await c.next(isSnapshotOf('sub-del'));
    expect((await t.call('DELETE', '/v1/twins/sub-del')).status).toBe(204);
    expect(await c.next()).toEqual({ op: 'deleted', twin: 'sub-del' });
    // Recreated under the same id, it is a new twin this connection did not subscribe to.
    await createTwin(t, 'sub-del');
    await createTwin(t, 'sub-del-marker');
    await c.request({ op: 'subscribe', twins: ['sub-del-marker'] });
    await c.next(isSnapshotOf('sub-del-marker'));
    expect(c.pending()).toEqual([]);
  });

  it('refuses subscriptions over the per-connection cap with invalid_request, subscribing nothing', async () => {
    const ids = ['cap-1', 'cap-2', 'cap-3', 'cap-4', 'cap-5', 'cap-6'];
    for (const id of ids) await createTwin(t, id);
    const c = await open();
    const refused = await c.request({ op: 'subscribe', twins: ids });
    expect(refused).toMatchObject({ op: 'error', code: 'invalid_request', details: { limit: 5, held: 0, asked: 6 } });
    expect(refused.message).toBe('Too many subscriptions: the limit is 5 per connection (0 held, 6 more asked)');
    expect(await c.request({ op: 'subscribe', twins: ids.slice(0, 4) })).toMatchObject({ op: 'subscribed' });
    expect(await c.request({ op: 'subscribe', prefix: 'cap-' })).toMatchObject({ op: 'subscribed' });
    expect(await c.request({ op: 'subscribe', twins: ['cap-6'] })).toMatchObject({ op: 'error', code: 'invalid_request' });
    // Subscribing again to what is held adds nothing, so it fits.
    expect(await c.request({ op: 'subscribe', prefix: 'cap-' })).toMatchObject({ op: 'subscribed' });
    await c.request({ op: 'unsubscribe', twins: ['cap-1'] });
    expect(await c.request({ op: 'subscribe', twins: ['cap-6'] })).toMatchObject({ op: 'subscribed' });
  });
});

describe('get and patch', () => {
  it('get answers the public twin with the ref', async () => {
    await createTwin(t, 'gp-1', { desired: { a: 1 } });
    const c = await open();
    c.send({ op: 'get', ref: 'g', twin: 'gp-1' });
    expect(await c.next()).toEqual({ op: 'twin', ref: 'g', twin: await getTwin(t, 'gp-1') });
  });

  it('get of a missing twin is not_found with the ref', async () => {
    const c = await open();
    expect(await c.request({ op: 'get', twin: 'gp-none' })).toMatchObject({ op: 'error', code: 'not_found', message: 'No twin "gp-none"' });
  });

  it('patch merges desired and tags, answers ok with the version and echoes clientToken into the event', async () => {
    await createTwin(t, 'gp-2', { desired: { a: 1, b: 2 } });
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['gp-2'] });
    await c.next(isSnapshotOf('gp-2'));
    c.send({ op: 'patch', ref: 'p', twin: 'gp-2', desired: { a: 5, b: null }, tags: { site: 'x' }, clientToken: 'ct-1' });
    // The reply and the change it causes may arrive in either order (CONTRACT §7).
    expect(await c.next((m) => m.ref === 'p')).toEqual({ op: 'ok', ref: 'p', version: 2, clientToken: 'ct-1' });
    expect(await c.next(isChangeOf('gp-2'))).toMatchObject({ event: { version: 2, via: 'ws', clientToken: 'ct-1', patch: { desired: { a: 5, b: null }, tags: { site: 'x' } } } });
    expect(await getTwin(t, 'gp-2')).toMatchObject({ desired: { a: 5 }, tags: { site: 'x' } });
  });

  it('patch with desired null clears desired, as over HTTP', async () => {
    await createTwin(t, 'gp-3', { desired: { a: 1, b: 2 } });
    const c = await open();
    expect(await c.request({ op: 'patch', twin: 'gp-3', desired: null })).toMatchObject({ op: 'ok', version: 2 });
    expect((await getTwin(t, 'gp-3')).desired).toEqual({});
  });

  it('patch with a stale ifVersion is version_conflict and changes nothing', async () => {
    await createTwin(t, 'gp-4', { desired: { a: 1 } });
    const c = await open();
    expect(await c.request({ op: 'patch', twin: 'gp-4', desired: { a: 2 }, ifVersion: 1 })).toMatchObject({ op: 'ok', version: 2 });
    const conflict = await c.request({ op: 'patch', twin: 'gp-4', desired: { a: 3 }, ifVersion: 1 });
    expect(conflict).toMatchObject({ op: 'error', code: 'version_conflict' });
    expect((await getTwin(t, 'gp-4')).desired).toEqual({ a: 2 });
  });

  it('a no-op patch answers the current version and emits nothing', async () => {
    await createTwin(t, 'gp-5', { desired: { a: 1 } });
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['gp-5'] });
    await c.next(isSnapshotOf('gp-5'));
    expect(await c.request({ op: 'patch', twin: 'gp-5', desired: { a: 1 } })).toMatchObject({ op: 'ok', version: 1 });
    expect(await c.request({ op: 'patch', twin: 'gp-5', desired: { a: 2 } })).toMatchObject({ op: 'ok', version: 2 });
    await c.next(isChangeOf('gp-5'));
    expect(changeVersions(c.received, 'gp-5')).toEqual([2]);
  });

  it('maps core errors by code: invalid_document, too_deep', async () => {
    await createTwin(t, 'gp-6');
    const c = await open();
    expect(await c.request({ op: 'patch', twin: 'gp-6', desired: [1, 2] })).toMatchObject({ op: 'error', code: 'invalid_document' });
    expect(await c.request({ op: 'patch', twin: 'gp-6', desired: { ['__proto__']: 1 } })).toMatchObject({ op: 'error', code: 'invalid_document' });
    let deep: Json = { leaf: 1 };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    expect(await c.request({ op: 'patch', twin: 'gp-6', desired: deep })).toMatchObject({ op: 'error', code: 'too_deep' });
  });

  it('report from an app session writes reported with the admin token, as over HTTP', async () => {
    await createTwin(t, 'gp-7', { desired: { on: true } });
    const c = await open();
    expect(await c.request({ op: 'report', twin: 'gp-7', reported: { on: true } })).toMatchObject({ op: 'ok', version: 2, delta: {} });
  });
});
