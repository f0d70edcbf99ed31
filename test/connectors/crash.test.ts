/**
 * The outbox is durable: writes acknowledged while the webhook is failing, then a kill -9 of the
 * server, then a restart on the same data: every acknowledged change is delivered, in version
 * order per twin. While failing, the log says so once, not once per retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { inOrderUpTo, Receiver } from './receiver.ts';

const SECRET = 'a-webhook-secret-0123456789';

describe('connector outbox across kill -9', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;
  const receiver = new Receiver(SECRET);
  beforeAll(async () => { dir = await tempDir('doppel-conn-crash-'); await receiver.start(); });
  afterAll(async () => { await server?.kill('SIGKILL'); await receiver.stop(); await dir.remove(); });

  const call = async (method: string, path: string, body?: unknown) => fetch(`${server!.url}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  it('delivers every acknowledged change after a crash, in order per twin', async () => {
    server = await startChildServer(dir.path);
    let log = '';
    server.child.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    expect((await call('POST', '/v1/connectors', { id: 'crash-hook', kind: 'webhook', url: receiver.url, secret: SECRET })).status).toBe(201);
    receiver.mode = 'fail';
    const twins = ['c-1', 'c-2', 'c-3', 'c-4'];
    const VERSIONS = 10;
    // Twins written concurrently, each in order, so the kill lands with writes in flight.
    await Promise.all(twins.map(async (twin) => {
      expect((await call('POST', '/v1/twins', { id: twin })).status).toBe(201);
      for (let i = 2; i <= VERSIONS; i++) expect((await call('PATCH', `/v1/twins/${twin}`, { desired: { i } })).status).toBe(200);
    }));
    const failing = await eventually(async () => {
      const s = await (await call('GET', '/v1/connectors/crash-hook')).json() as { failed: number; state: string };
      return s.failed >= 3 && s.state === 'failing' ? s : undefined;
    }, 'several failed attempts', 30_000);
    expect(failing.failed).toBeGreaterThanOrEqual(3);
    // Logs are JSON lines on stdout: one for the change to failing, none per retry.
    expect(log.split('\n').filter((line) => line.includes('"connector failing"')).length).toBe(1);
    await server.kill('SIGKILL');

    receiver.mode = 'ok';
    server = await startChildServer(dir.path);
    for (const twin of twins) {
      await eventually(async () => (inOrderUpTo(receiver.versionsOf(twin), VERSIONS) ? true : undefined), `all of ${twin}`, 60_000);
    }
    expect(receiver.badSignatures).toBe(0);
    const s = await eventually(async () => {
      const v = await (await call('GET', '/v1/connectors/crash-hook')).json() as { lag: number; state: string };
      return v.lag === 0 ? v : undefined;
    }, 'caught up', 30_000);
    expect(s.state).toBe('healthy');
  }, 120_000);
});
