/**
 * A queued command acknowledged with 202 survives a kill -9 of the server process: after the
 * restart every one is listed, unchanged, and the device can still answer it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import type { CommandJson } from './helpers.ts';

describe('queued commands across kill -9', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;
  beforeAll(async () => { dir = await tempDir('doppel-cmd-crash-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  const call = async (method: string, path: string, body?: unknown, token = ADMIN) => fetch(`${server!.url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  it('loses no acknowledged command', async () => {
    server = await startChildServer(dir.path);
    expect((await call('POST', '/v1/twins', { id: 'crash-1' })).status).toBe(201);
    const { token } = await (await call('POST', '/v1/twins/crash-1/token')).json() as { token: string };
    // Many in flight at once, so the kill lands right after the last 202s, with no quiet time before it.
    const acked = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const res = await call('POST', '/v1/twins/crash-1/commands', { name: 'set', payload: { i }, ttlSeconds: 3600 });
      expect(res.status).toBe(202);
      return res.json() as Promise<CommandJson>;
    }));
    await server.kill('SIGKILL');
    server = await startChildServer(dir.path);
    const { items } = await (await call('GET', '/v1/twins/crash-1/commands')).json() as { items: CommandJson[] };
    expect(items.length).toBe(40);
    const byId = new Map(items.map((c) => [c.id, c]));
    for (const command of acked) expect(byId.get(command.id)).toEqual(command);
    const answer = await call('POST', `/v1/twins/crash-1/commands/${acked[0]!.id}/result`, { status: 'succeeded' }, token);
    expect(answer.status).toBe(200);
  }, 60_000);
});
