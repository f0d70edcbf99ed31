/**
 * How the CLI finds its server and token, and how it fails: token resolution order (--token,
 * DOPPEL_TOKEN, DOPPEL_ADMIN_TOKEN, <data>/admin-token via --data, DOPPEL_DATA or ./data), an
 * unreachable server (exit 1, a hint), usage errors (exit 2, before any request) and --help.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { closedPort, createCli, expectNoLeaks, expectProblem, expectUsage } from './helpers.ts';
import type { Cli, CliRun } from './helpers.ts';

const WRONG = 'dpa_not-the-admin-token-0123456789';

let t: TestServer;
let cli: Cli;
let deadUrl: string;

beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli(); // no DOPPEL_* at all: each test says where URL and token come from
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
  expect((await t.call('POST', '/v1/twins', { body: { id: 'probe' } })).status).toBe(201);
});

afterAll(async () => {
  await cli?.cleanup();
  await t?.stop();
});

/** `twins get probe`: succeeds only with the admin token. */
const probe = (flags: string[], env: Record<string, string> = {}, cwd?: string) =>
  cli.run(['twins', 'get', 'probe', '--json', ...flags], { env: { DOPPEL_URL: t.url, ...env }, ...(cwd === undefined ? {} : { cwd }) });

const ok = (run: CliRun) => expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });

describe('token resolution', () => {
  let goodDir: string;
  let wrongDir: string;

  beforeAll(async () => {
    goodDir = await cli.dataDir('good', ADMIN);
    wrongDir = await cli.dataDir('wrong', WRONG);
  });

  it('--token wins over DOPPEL_TOKEN and the data dir', async () => {
    ok(await probe(['--token', ADMIN, '--data', wrongDir], { DOPPEL_TOKEN: WRONG }));
    const run = await probe(['--token', WRONG], { DOPPEL_TOKEN: ADMIN, DOPPEL_DATA: goodDir });
    expectProblem(run, 'unauthorized', 401);
    expect(run.stderr).toContain('the token came from --token');
  });

  it('DOPPEL_TOKEN wins over DOPPEL_ADMIN_TOKEN and the data dir', async () => {
    ok(await probe(['--data', wrongDir], { DOPPEL_TOKEN: ADMIN, DOPPEL_ADMIN_TOKEN: WRONG }));
    const run = await probe([], { DOPPEL_TOKEN: WRONG, DOPPEL_DATA: goodDir });
    expectProblem(run, 'unauthorized', 401);
    expect(run.stderr).toContain('the token came from DOPPEL_TOKEN');
  });

  it('DOPPEL_ADMIN_TOKEN (the server\'s own variable) wins over the data dir', async () => {
    ok(await probe(['--data', wrongDir], { DOPPEL_ADMIN_TOKEN: ADMIN }));
  });

  it('reads <data>/admin-token: --data over DOPPEL_DATA over ./data', async () => {
    ok(await probe(['--data', goodDir], { DOPPEL_DATA: wrongDir }));
    ok(await probe([], { DOPPEL_DATA: goodDir }));
    await cli.dataDir('project/data', ADMIN); // ./data, seen from <dir>/project
    ok(await probe([], {}, join(cli.dir, 'project')));
    const run = await probe(['--data', wrongDir]);
    expectProblem(run, 'unauthorized', 401);
    expect(run.stderr).toContain(`the token came from ${join(wrongDir, 'admin-token')}`);
  });

  it('with no token anywhere, says where it looked (exit 2)', async () => {
    const run = await probe([]);
    expectUsage(run, /no token: pass --token, set DOPPEL_TOKEN, or point --data \(DOPPEL_DATA\).*data\/admin-token does not exist/);
  });
});

describe('server URL', () => {
  it('--url wins over DOPPEL_URL; common flags may also come before the action', async () => {
    ok(await cli.run(['twins', 'get', 'probe', '--url', t.url, '--token', ADMIN], { env: { DOPPEL_URL: deadUrl } }));
    ok(await cli.run(['twins', `--url=${t.url}`, '--token', ADMIN, 'get', 'probe'], { env: { DOPPEL_URL: deadUrl } }));
  });

  it('an unreachable server is exit 1 with the URL and what to do, stdout empty even with --json', async () => {
    const run = await cli.run(['twins', 'list', '--json', '--token', ADMIN], { env: { DOPPEL_URL: deadUrl } });
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
    expect(run.stderr).toBe(`doppel: cannot reach the server at ${deadUrl} (ECONNREFUSED): is it running? Start it with \`doppel serve\`, or point --url (or DOPPEL_URL) at it\n`);
  });
});

// Concurrent: each case is one independent process, and there are many.
describe.concurrent('usage errors: exit 2 before any request', () => {
  // Aimed at a closed port with a token: had any of these sent a request, it would exit 1.
  const cases: [string[], RegExp][] = [
    [['twins'], /^doppel twins: missing action: one of list, get, create, patch, delete, history/],
    [['twins', 'fetch', 'x'], /unknown action "fetch"/],
    [['twins', 'get'], /^doppel twins get: missing <id> \(see doppel twins --help\)\n$/],
    [['twins', 'get', 'x', '--colour'], /^doppel twins get: unknown flag --colour/],
    [['twins', '--limit', '3', 'list'], /^doppel twins: --limit goes after the action/],
    [['twins', 'get', 'x', 'y'], /unexpected argument "y"/],
    [['twins', 'get', 'x', '--fields'], /--fields needs a value/],
    [['twins', 'create', 'x', '--desired', '{temp:1}'], /^doppel twins create: --desired is not valid JSON: /],
    [['twins', 'patch', 'x', '--tags', '[1,2]'], /--tags must be a JSON object/],
    [['twins', 'patch', 'x'], /nothing to patch: give --desired, --tags or --file/],
    [['twins', 'patch', 'x', '--desired', '{}', '--if-version', 'latest'], /--if-version must be an integer 1 or more, got "latest"/],
    [['twins', 'patch', 'x', '--file', '/nonexistent/patch.json'], /--file \/nonexistent\/patch.json does not exist/],
    [['twins', 'patch', 'x', '-'], /the body on stdin is not valid JSON/],
    [['twins', 'list', '--limit', '0'], /--limit must be an integer from 1 to 1000, got "0"/],
    [['twins', 'list', '--all=yes'], /--all takes no value/],
    [['twins', 'history', 'x', '--since', '-1'], /--since must be an integer 0 or more, got "-1"/],
    [['keys', 'create'], /--scopes is required/],
    [['keys', 'create', '--scopes', 'twins:read,twins:admin'], /--scopes must be a comma-separated list of twins:read, twins:write, keys:admin/],
    [['keys', 'delete'], /missing <id>/],
    [['token', 'issue'], /^doppel token issue: missing <id>/],
    [['twins', 'list', '--url', 'ftp://example.com'], /--url must be an http\(s\) URL/],
  ];

  it.each(cases.map(([args, message]) => [args.join(' '), args, message] as const))('%s', async (_name, args, message) => {
    expectUsage(await cli.run([...args, '--token', ADMIN], { env: { DOPPEL_URL: deadUrl } }), message);
  });

  it('an empty --token is a usage error, not a request', async () => {
    expectUsage(await cli.run(['twins', 'list', '--token=', '--url', deadUrl]), /the token from --token is empty/);
  });
});

describe('help', () => {
  it('doppel --help lists the client commands; doppel twins --help lists actions and common flags', async () => {
    const top = await cli.run(['--help']);
    expect(top.code, top.stderr).toBe(0);
    for (const name of ['twins', 'token', 'keys']) expect(top.stdout, top.stderr).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    const twins = await cli.run(['twins', '--help']);
    expect(twins.code, twins.stderr).toBe(0);
    for (const action of ['list', 'get', 'create', 'patch', 'delete', 'history']) expect(twins.stdout).toContain(`twins ${action} `);
    expect(twins.stdout).toContain('DOPPEL_TOKEN');
  });
});

it('never printed the admin token (nor the wrong one)', () => {
  expectNoLeaks(cli.transcript, [ADMIN, WRONG], new Map());
});
