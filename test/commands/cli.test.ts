/**
 * `doppel commands send|list|get|cancel` against a real server: a queued command's id alone on
 * stdout, listings, cancel, a direct command's result from a WebSocket device, and clear failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createCli, expectProblem, expectUsage } from '../cli/helpers.ts';
import type { Cli } from '../cli/helpers.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { twinWithToken } from './helpers.ts';

let t: TestServer;
let cli: Cli;
const clients: Client[] = [];
beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli({ DOPPEL_URL: t.url, DOPPEL_TOKEN: ADMIN });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await cli?.cleanup();
  await t?.stop();
});

describe('doppel commands', () => {
  it('sends a queued command, lists, shows and cancels it', async () => {
    await twinWithToken(t, 'cli-1');
    const sent = await cli.run(['commands', 'send', 'cli-1', 'reboot', '--payload', '{"delay":3}', '--ttl', '600']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^[0-9a-z]+\n$/);
    const id = sent.stdout.trim();
    const listed = await cli.run(['commands', 'list', 'cli-1', '--status', 'queued']);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+reboot\\s+queued\\s`, 'm'));
    const shown = await cli.run(['commands', 'get', 'cli-1', id]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, name: 'reboot', payload: { delay: 3 }, status: 'queued' });
    expect((await cli.run(['commands', 'cancel', 'cli-1', id])).stdout).toBe(`cancelled command ${id}\n`);
    expectProblem(await cli.run(['commands', 'cancel', 'cli-1', id]), 'command_ended', 409);
  });

  it('sends a direct command and prints the device\'s result', async () => {
    const device = await connect(t, await twinWithToken(t, 'cli-2'));
    clients.push(device);
    await device.next((m) => m.op === 'delta');
    device.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      if (m.op === 'command') device.send({ op: 'result', command: (m.command as { id: string }).id, status: 'succeeded', result: { pong: true } });
    });
    const run = await cli.run(['commands', 'send', 'cli-2', 'ping', '--timeout-ms', '20000']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('{"pong":true}\n');
  });

  it('fails clearly: offline device, bad flags', async () => {
    await twinWithToken(t, 'cli-3');
    expectProblem(await cli.run(['commands', 'send', 'cli-3', 'ping']), 'device_offline', 409);
    expectUsage(await cli.run(['commands', 'send', 'cli-3', 'ping', '--ttl', '0']), /--ttl must be an integer from 1 to 2592000/);
    expectUsage(await cli.run(['commands', 'send', 'cli-3', 'ping', '--ttl', '5', '--timeout-ms', '2000']), /not both/);
    expectUsage(await cli.run(['commands', 'list', 'cli-3', '--status', 'done']), /--status must be one of/);
    expectUsage(await cli.run(['commands', 'send', 'cli-3']), /missing <name>/);
  });
});
