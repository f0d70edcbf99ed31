/**
 * `GET /v1/twins/{id}/commands/{cid}` without `waitMs` is a plain read: it builds no combined
 * abort signal (client gone or server draining), which only a long poll needs. Counting the
 * signals built takes the server in this process, hence this folder (Node only).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson } from '../http/helpers.ts';
import { queue, twinWithToken } from '../commands/helpers.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

describe('GET a command', () => {
  it('combines abort signals only for a long poll', async () => {
    await twinWithToken(t, 'get-1');
    const cmd = await queue(t, 'get-1', { name: 'x', ttlSeconds: 60 });
    const any = vi.spyOn(AbortSignal, 'any');
    try {
      expect(await expectJson(await t.call('GET', `/v1/twins/get-1/commands/${cmd.id}`), 200)).toMatchObject({ id: cmd.id, status: 'queued' });
      expect(any).not.toHaveBeenCalled();
      expect(await expectJson(await t.call('GET', `/v1/twins/get-1/commands/${cmd.id}?waitMs=1`), 200)).toMatchObject({ id: cmd.id, status: 'queued' });
      expect(any).toHaveBeenCalledTimes(1);
      expect((await t.call('GET', `/v1/twins/get-1/commands/${cmd.id.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'))}`)).status).toBe(404);
    } finally {
      any.mockRestore();
    }
  });
});
