/**
 * `doppel twins …` against a real server: every action in human and --json form, paging with
 * --cursor and --all, bodies from --file and stdin, and problem replies (404, 409, 412, 400, 403)
 * as one line on stderr with exit code 1.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createCli, expectNoLeaks, expectProblem } from './helpers.ts';
import type { Cli } from './helpers.ts';

let t: TestServer;
let cli: Cli;
let readOnlyKey: string;

beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli({ DOPPEL_URL: t.url, DOPPEL_TOKEN: ADMIN });
  const key = await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } });
  readOnlyKey = ((await key.json()) as { token: string }).token;
});

afterAll(async () => {
  await cli?.cleanup();
  await t?.stop();
});

const twin = async (id: string) => (await t.call('GET', `/v1/twins/${id}`)).json() as Promise<Record<string, unknown>>;
const json = (stdout: string) => {
  expect(stdout.trimEnd().split('\n'), 'one JSON document on one line').toHaveLength(1);
  return JSON.parse(stdout) as Record<string, unknown>;
};

describe('doppel twins create / get', () => {
  it('creates a twin and says so in one line', async () => {
    const run = await cli.run(['twins', 'create', 'thermo-42', '--desired', '{"temp":21,"mode":"eco"}', '--tags', '{"site":"berlin"}']);
    expect(run).toMatchObject({ code: 0, stdout: 'created thermo-42 → version 1\n', stderr: '' });
    expect(await twin('thermo-42')).toMatchObject({ version: 1, desired: { temp: 21, mode: 'eco' }, tags: { site: 'berlin' } });
  });

  it('--json prints the reply of the API', async () => {
    const run = await cli.run(['twins', 'create', 'thermo-43', '--json']);
    expect(run.code).toBe(0);
    expect(json(run.stdout)).toMatchObject({ id: 'thermo-43', version: 1, desired: {}, delta: {} });
  });

  it('shows a twin as pretty JSON, or as one document with --json, and selects --fields', async () => {
    const human = await cli.run(['twins', 'get', 'thermo-42']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('\n  "id": "thermo-42",\n');
    expect(JSON.parse(human.stdout)).toMatchObject({ id: 'thermo-42', desired: { temp: 21, mode: 'eco' }, sync: { inSync: false } });
    const fields = await cli.run(['twins', 'get', 'thermo-42', '--fields', 'desired.temp,version', '--json']);
    expect(json(fields.stdout)).toEqual({ desired: { temp: 21 }, version: 1 });
  });

  it('refuses an existing id (409) and a missing twin (404) with exit 1', async () => {
    expectProblem(await cli.run(['twins', 'create', 'thermo-42']), 'already_exists', 409);
    const missing = await cli.run(['twins', 'get', 'no-such-twin', '--json']);
    expectProblem(missing, 'not_found', 404);
    expect(missing.stderr).toContain('no-such-twin');
  });
});

describe('doppel twins patch', () => {
  it('merge-patches desired, conditionally with --if-version', async () => {
    const run = await cli.run(['twins', 'patch', 'thermo-42', '--desired', '{"temp":22,"mode":null}', '--if-version', '1']);
    expect(run).toMatchObject({ code: 0, stdout: 'patched thermo-42 → version 2\n', stderr: '' });
    expect(await twin('thermo-42')).toMatchObject({ version: 2, desired: { temp: 22 } });
  });

  it('refuses a stale --if-version (412) and changes nothing', async () => {
    expectProblem(await cli.run(['twins', 'patch', 'thermo-42', '--desired', '{"temp":30}', '--if-version', '1']), 'version_conflict', 412);
    expect(await twin('thermo-42')).toMatchObject({ version: 2, desired: { temp: 22 } });
  });

  it('--json prints the patched twin', async () => {
    const run = await cli.run(['twins', 'patch', 'thermo-42', '--tags', '{"floor":2}', '--json']);
    expect(run.code).toBe(0);
    expect(json(run.stdout)).toMatchObject({ id: 'thermo-42', version: 3, tags: { site: 'berlin', floor: 2 } });
  });

  it('reads the body from --file and from stdin (-), flags on top', async () => {
    const file = join(cli.dir, 'patch.json');
    await writeFile(file, JSON.stringify({ desired: { temp: 23, fan: 'auto' }, tags: { floor: 3 } }));
    const fromFile = await cli.run(['twins', 'patch', 'thermo-42', '--file', file, '--tags', '{"floor":4}']);
    expect(fromFile.stdout).toBe('patched thermo-42 → version 4\n');
    expect(await twin('thermo-42')).toMatchObject({ desired: { temp: 23, fan: 'auto' }, tags: { floor: 4 } });
    const fromStdin = await cli.run(['twins', 'patch', 'thermo-42', '-'], { input: '{"desired":{"fan":null}}' });
    expect(fromStdin.stdout).toBe('patched thermo-42 → version 5\n');
    expect((await twin('thermo-42')).desired).toEqual({ temp: 23 });
  });

  it('a key without twins:write is refused (403) and nothing changes', async () => {
    const run = await cli.run(['twins', 'patch', 'thermo-42', '--desired', '{"temp":99}'], { env: { DOPPEL_TOKEN: readOnlyKey } });
    expectProblem(run, 'forbidden', 403);
    expect(await twin('thermo-42')).toMatchObject({ version: 5, desired: { temp: 23 } });
  });
});

describe('doppel twins list', () => {
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      const res = await t.call('POST', '/v1/twins', { body: { id: `page-${i}`, tags: { n: i } } });
      expect(res.status).toBe(201);
    }
  });

  it('prints an aligned table', async () => {
    const run = await cli.run(['twins', 'list']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +VERSION +IN SYNC +ONLINE +UPDATED$/);
    expect(lines).toHaveLength(1 + 9);
    expect(lines.find((l) => l.startsWith('thermo-42 '))).toMatch(/^thermo-42 +5 +no +no +\d{4}-\d\d-\d\dT/);
    // Columns line up: VERSION starts at the same offset on every line.
    const at = lines[0]!.indexOf('VERSION');
    for (const line of lines.slice(1)) expect(line.slice(at - 2, at)).toBe('  ');
  });

  it('pages with --limit and --cursor, and says on stderr that more follow', async () => {
    const first = await cli.run(['twins', 'list', '--prefix', 'page-', '--limit', '3', '--json']);
    const page1 = json(first.stdout) as { items: { id: string }[]; next: string | null };
    expect(page1.items.map((i) => i.id)).toEqual(['page-0', 'page-1', 'page-2']);
    expect(page1.next).toEqual(expect.any(String));
    expect(first.stderr).toBe(''); // --json: the cursor is in the document
    const second = await cli.run(['twins', 'list', '--prefix', 'page-', '--limit', '3', '--cursor', page1.next!]);
    expect(second.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(' ')[0])).toEqual(['page-3', 'page-4', 'page-5']);
    expect(second.stderr).toMatch(/more twins: add --cursor \S+ \(or --all/);
  });

  it('--all follows every page', async () => {
    const all = await cli.run(['twins', 'list', '--prefix', 'page-', '--limit', '3', '--all', '--json']);
    expect(json(all.stdout)).toEqual({ items: expect.any(Array), next: null });
    expect((JSON.parse(all.stdout) as { items: { id: string }[] }).items.map((i) => i.id)).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6']);
    const human = await cli.run(['twins', 'list', '--prefix', 'page-', '--limit', '2', '--all']);
    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout.trimEnd().split('\n')).toHaveLength(1 + 7);
  });

  it('filters, and passes a malformed filter\'s problem on (400, exit 1)', async () => {
    const run = await cli.run(['twins', 'list', '--filter', 'tags.n >= 5', '--json']);
    expect((json(run.stdout).items as { id: string }[]).map((i) => i.id)).toEqual(['page-5', 'page-6']);
    const bad = await cli.run(['twins', 'list', '--filter', 'tags.n >=']);
    expectProblem(bad, 'invalid_request', 400);
    expect(bad.stderr).toContain('Cannot parse filter');
  });

  it('says so on stderr when nothing matches', async () => {
    const run = await cli.run(['twins', 'list', '--prefix', 'nothing-']);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '(no twins)\n' });
  });
});

describe('doppel twins history', () => {
  it('prints the change events as a table', async () => {
    const run = await cli.run(['twins', 'history', 'thermo-42']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION +AT +VIA +CHANGE$/);
    expect(lines).toHaveLength(1 + 5);
    expect(lines[1]).toMatch(/^1 +\S+ +http +\{"desired":\{"temp":21,"mode":"eco"\},"tags":\{"site":"berlin"\}\}$/);
  });

  it('pages with --since and --limit, or every page with --all', async () => {
    const page = json((await cli.run(['twins', 'history', 'thermo-42', '--since', '1', '--limit', '2', '--json'])).stdout) as { items: { version: number }[]; next: number | null };
    expect(page.items.map((e) => e.version)).toEqual([2, 3]);
    expect(page.next).toBe(3);
    const human = await cli.run(['twins', 'history', 'thermo-42', '--since', '1', '--limit', '2']);
    expect(human.stderr).toContain('more events: add --since 3');
    const all = json((await cli.run(['twins', 'history', 'thermo-42', '--limit', '2', '--all', '--json'])).stdout) as { items: { version: number }[]; next: number | null };
    expect(all).toMatchObject({ next: null });
    expect(all.items.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('doppel twins delete', () => {
  it('refuses a stale --if-version (412), then deletes', async () => {
    expectProblem(await cli.run(['twins', 'delete', 'thermo-43', '--if-version', '7']), 'version_conflict', 412);
    expect((await t.call('GET', '/v1/twins/thermo-43')).status).toBe(200);
    const run = await cli.run(['twins', 'delete', 'thermo-43', '--if-version', '1']);
    expect(run).toMatchObject({ code: 0, stdout: 'deleted thermo-43\n', stderr: '' });
    expect((await t.call('GET', '/v1/twins/thermo-43')).status).toBe(404);
  });

  it('--json prints one document although the API answers 204; a second delete is 404', async () => {
    const run = await cli.run(['twins', 'delete', 'page-6', '--json']);
    expect(json(run.stdout)).toEqual({ id: 'page-6', deleted: true });
    expectProblem(await cli.run(['twins', 'delete', 'page-6', '--json']), 'not_found', 404);
  });
});

it('never printed the admin token or the key it used', () => {
  expect(cli.transcript.length).toBeGreaterThan(20);
  expectNoLeaks(cli.transcript, [ADMIN, readOnlyKey], new Map());
});
