/**
 * `doppel jobs start|status|list|cancel` against a real server: the id alone on stdout, `--wait`
 * following a job to its end, listing, cancel of an ended job and clear usage errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createCli, expectProblem, expectUsage } from '../cli/helpers.ts';
import type { Cli } from '../cli/helpers.ts';
import { createTwins } from './helpers.ts';

let t: TestServer;
let cli: Cli;
beforeAll(async () => {
  t = await startTestServer();
  cli = await createCli({ DOPPEL_URL: t.url, DOPPEL_TOKEN: ADMIN });
});
afterAll(async () => {
  await cli?.cleanup();
  await t?.stop();
});

describe('doppel jobs', () => {
  it('starts a job, follows it, lists it and refuses to cancel it once ended', async () => {
    await createTwins((method, path, body) => t.call(method, path, { body }), 'cli-job-', 5, (i) => ({ ring: i < 2 ? 'beta' : 'stable' }));
    const waited = await cli.run(['jobs', 'start', 'tags.ring == "beta"', '--prefix', 'cli-job-', '--desired', '{"fw":"4"}', '--wait']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toMatch(/^j-[0-9a-f-]+ completed: matched 2, done 2, failed 0, scanned 5\n$/);
    const id = waited.stdout.split(' ')[0]!;
    const shown = await cli.run(['jobs', 'status', id]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, status: 'completed', done: 2 });
    expect((await cli.run(['jobs', 'list'])).stdout).toMatch(new RegExp(`^${id}\\s+completed\\s+2\\s+2\\s+0\\s`, 'm'));
    expectProblem(await cli.run(['jobs', 'cancel', id]), 'job_ended', 409);
    const started = await cli.run(['jobs', 'start', 'exists(id)', '--prefix', 'cli-job-', '--command', 'reboot', '--ttl', '60']);
    expect(started.stdout).toMatch(/^j-[0-9a-f-]+\n$/);
  });

  it('fails clearly on bad usage and bad filters', async () => {
    expectUsage(await cli.run(['jobs', 'start', 'exists(id)']), /exactly one of --desired or --command/);
    expectUsage(await cli.run(['jobs', 'start', 'exists(id)', '--command', 'reboot']), /--command needs --ttl/);
    expectProblem(await cli.run(['jobs', 'start', 'tags.x ==', '--desired', '{}']), 'invalid_request', 400);
  });
});
