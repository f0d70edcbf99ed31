/**
 * `doppel connectors add|list|show|rm` against a real server: the secret goes in and never comes
 * out, bad input is a usage error or the server's problem, and removal works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createCli } from '../cli/helpers.ts';
import type { Cli } from '../cli/helpers.ts';

const SECRET = 'cli-webhook-secret-0123456789';
let t: TestServer;
let cli: Cli;

beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli({ DOPPEL_URL: t.url, DOPPEL_TOKEN: ADMIN });
});
afterAll(async () => { await cli?.cleanup(); await t?.stop(); });

describe('doppel connectors', () => {
  it('adds, lists, shows and removes a connector, never printing its secret', async () => {
    const added = await cli.run(['connectors', 'add', 'cli-hook', '--kind', 'webhook', '--target', 'http://127.0.0.1:9/hook', '--secret', SECRET,
      '--prefix', 'cli-', '--events', 'change,deleted', '--max-age-seconds', '60']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('created connector cli-hook');
    const listed = await cli.run(['connectors', 'list']);
    expect(listed.stdout).toMatch(/cli-hook\s+webhook\s+http:\/\/127\.0\.0\.1:9\/hook\s+cli-\s+-\s+change,deleted/);
    const shown = await cli.run(['connectors', 'show', 'cli-hook', '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: 'cli-hook', maxAgeSeconds: 60, state: 'healthy', lag: 0 });
    for (const run of [added, listed, shown]) expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect((await cli.run(['connectors', 'rm', 'cli-hook'])).stdout).toContain('deleted connector cli-hook');
    expect((await t.call('GET', '/v1/connectors/cli-hook')).status).toBe(404);
  }, 60_000);

  it('refuses a missing kind-specific flag as a usage error, and a bad subject with the server\'s reason', async () => {
    const missing = await cli.run(['connectors', 'add', 'n1', '--kind', 'nats', '--target', 'nats://127.0.0.1:4222']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--subject is required');
    const bad = await cli.run(['connectors', 'add', 'n1', '--kind', 'nats', '--target', 'nats://127.0.0.1:4222', '--subject', 'a.>']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/subject/);
    expect((await t.call('GET', '/v1/connectors/n1')).status).toBe(404);
  }, 60_000);
});
