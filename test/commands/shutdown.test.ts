/**
 * A drain does not wait for command long polls or direct invocations: a long poll answers with
 * the command as it is, a direct invocation with 503 (the command stays open until expiresAt),
 * and the server stops well before their waits would have ended.
 */
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import { eventually } from '../support/eventually.ts';
import { metric } from '../support/metric.ts';
import { expectJson, expectProblem } from '../http/helpers.ts';
import { connect } from '../ws/helpers.ts';
import { option, RawClient, readUint } from '../coap/helpers.ts';
import { queue, twinWithToken } from './helpers.ts';
import type { CommandJson } from './helpers.ts';

describe('commands at shutdown', () => {
  it('answers waiting requests when the drain starts', async () => {
    const t = await startTestServer();
    let stopped = false;
    try {
      const device = await connect(t, await twinWithToken(t, 'sd-1'));
      await device.next((m) => m.op === 'delta');
      const cmd = await queue(t, 'sd-1', { name: 'reboot', ttlSeconds: 600 });
      const poll = t.call('GET', `/v1/twins/sd-1/commands/${cmd.id}?waitMs=60000`);
      const direct = t.call('POST', '/v1/twins/sd-1/commands', { body: { name: 'ping', timeoutMs: 300_000 } });
      await eventually(async () => ((await metric(t, 'doppel_command_waits')) === 2 ? true : undefined), 'both requests to wait');
      const started = Date.now();
      const closing = t.stop().then(() => { stopped = true; });
      expect(await expectJson<CommandJson>(await poll, 200)).toMatchObject({ id: cmd.id, status: 'delivered' });
      await expectProblem(await direct, 503, 'unavailable');
      device.close();
      await closing;
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      if (!stopped) await t.stop().catch(() => undefined);
    }
  }, 60_000);

  it('ends observations of /t/{id}/commands with a final 5.03 carrying Max-Age', async () => {
    const t = await startTestServer();
    const c = await RawClient.open(t.server.coapPort);
    let stopped = false;
    try {
      const token = await twinWithToken(t, 'sd-2');
      const tok = Buffer.from('5d02', 'hex');
      const first = await c.request({ path: '/t/sd-2/commands', query: [`token=${token}`], observe: 0, token: tok });
      expect(option(first, 'Observe')).toBeDefined();
      await t.stop();
      stopped = true;
      const last = await c.next((p) => p.token.equals(tok) && p.code === '5.03', 10_000, 'the final 5.03');
      expect(readUint(option(last, 'Max-Age'))).toBe(5);
    } finally {
      await c.close();
      if (!stopped) await t.stop().catch(() => undefined);
    }
  });
});
