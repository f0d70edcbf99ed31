/**
 * `doppel token issue` and `doppel keys create|list|delete` against a real server: a new token is
 * printed once, alone on stdout, and never again (not by listings, not on stderr); the tokens
 * work, revocation works, and a key without keys:admin is refused (403).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createCli, expectNoLeaks, expectProblem } from './helpers.ts';
import type { Cli, CliRun } from './helpers.ts';

let t: TestServer;
let cli: Cli;
/** Every token the CLI printed, with the run that created it. */
const created = new Map<string, CliRun>();

beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli({ DOPPEL_URL: t.url, DOPPEL_TOKEN: ADMIN });
  expect((await t.call('POST', '/v1/twins', { body: { id: 'dev-1' } })).status).toBe(201);
});

afterAll(async () => {
  await cli?.cleanup();
  await t?.stop();
});

const status = async (path: string, token: string) => (await t.call('GET', path, { token })).status;

describe('doppel token issue', () => {
  let first: string;

  it('prints only the device token on stdout, the warning on stderr', async () => {
    const run = await cli.run(['token', 'issue', 'dev-1']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^dpd_\S+\n$/);
    expect(run.stderr).toContain('shown once');
    first = run.stdout.trim();
    created.set(first, run);
    expect(await status('/v1/twins/dev-1', first)).toBe(200);
  });

  it('--json prints {token}; issuing again revokes the previous token', async () => {
    const run = await cli.run(['token', 'issue', 'dev-1', '--json']);
    const { token } = JSON.parse(run.stdout) as { token: string };
    expect(token).toMatch(/^dpd_/);
    created.set(token, run);
    expect(run.stderr).toBe('');
    expect(await status('/v1/twins/dev-1', token)).toBe(200);
    expect(await status('/v1/twins/dev-1', first)).toBe(401);
  });

  it('a missing twin is 404', async () => {
    expectProblem(await cli.run(['token', 'issue', 'ghost']), 'not_found', 404);
  });
});

describe('doppel keys', () => {
  let opsKey: { id: string; token: string };
  let readKey: { id: string; token: string };

  it('create prints only the token on stdout and the key id on stderr', async () => {
    const run = await cli.run(['keys', 'create', '--scopes', 'twins:read,twins:write', '--prefix', 'dev-', '--name', 'ops']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^dpk_\S+\n$/);
    const id = /created key (\S+) \(twins:read,twins:write, twins starting with "dev-"\)/.exec(run.stderr)?.[1];
    expect(id, run.stderr).toBeDefined();
    opsKey = { id: id!, token: run.stdout.trim() };
    created.set(opsKey.token, run);
    expect(await status('/v1/twins/dev-1', opsKey.token)).toBe(200);
  });

  it('create --json prints the key with its token', async () => {
    const run = await cli.run(['keys', 'create', '--scopes', 'twins:read', '--json']);
    const key = JSON.parse(run.stdout) as { id: string; token: string; scopes: string[]; prefix: string | null; name: string | null };
    expect(key).toMatchObject({ scopes: ['twins:read'], prefix: null, name: null, token: expect.stringMatching(/^dpk_/) });
    readKey = { id: key.id, token: key.token };
    created.set(key.token, run);
  });

  it('list shows every key as a table and never a token', async () => {
    const run = await cli.run(['keys', 'list']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +SCOPES +PREFIX +CREATED$/);
    expect(lines.find((l) => l.startsWith(opsKey.id))).toMatch(new RegExp(`^${opsKey.id} +ops +twins:read,twins:write +dev- +\\d{4}-`));
    expect(lines.find((l) => l.startsWith(readKey.id))).toMatch(new RegExp(`^${readKey.id} +- +twins:read +- +\\d{4}-`));
    const machine = await cli.run(['keys', 'list', '--json']);
    const { items } = JSON.parse(machine.stdout) as { items: Record<string, unknown>[] };
    expect(items.map((k) => k.id).sort()).toEqual([opsKey.id, readKey.id].sort());
    for (const k of items) expect(k).not.toHaveProperty('token');
  });

  it('a key without keys:admin is refused (403)', async () => {
    expectProblem(await cli.run(['keys', 'list'], { env: { DOPPEL_TOKEN: readKey.token } }), 'forbidden', 403);
    expectProblem(await cli.run(['keys', 'create', '--scopes', 'twins:read'], { env: { DOPPEL_TOKEN: opsKey.token } }), 'forbidden', 403);
  });

  it('delete revokes at once; deleting again is 404', async () => {
    const run = await cli.run(['keys', 'delete', opsKey.id]);
    expect(run).toMatchObject({ code: 0, stdout: `deleted key ${opsKey.id}\n`, stderr: '' });
    expect(await status('/v1/twins/dev-1', opsKey.token)).toBe(401);
    const machine = await cli.run(['keys', 'delete', readKey.id, '--json']);
    expect(JSON.parse(machine.stdout)).toEqual({ id: readKey.id, deleted: true });
    expectProblem(await cli.run(['keys', 'delete', readKey.id]), 'not_found', 404);
  });

  it('a revoked key is unauthorized (401), and the message names where the token came from', async () => {
    const run = await cli.run(['keys', 'list'], { env: { DOPPEL_TOKEN: readKey.token } });
    expectProblem(run, 'unauthorized', 401);
    expect(run.stderr).toContain('the token came from DOPPEL_TOKEN');
  });
});

it('printed each new token exactly once, on stdout, and never the admin token', () => {
  expect(created.size).toBe(4);
  expectNoLeaks(cli.transcript, [ADMIN], created);
});
