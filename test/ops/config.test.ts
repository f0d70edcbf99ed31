/**
 * Configuration as an operator meets it: `doppel config print` shows what `serve` would run with
 * (file < env < flags, secrets masked), and `serve` refuses a bad config file before binding
 * anything, with exit code 2 and a message naming the problem.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doppelCli, startChildServer, tempDir } from '../support/server.ts';

const execFileAsync = promisify(execFile);
const doppel = (args: string[], env: Record<string, string> = {}) => {
  const { file, args: base } = doppelCli();
  return execFileAsync(file, [...base, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 20_000 })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
};

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => { dir = await tempDir('doppel-config-'); });
afterAll(async () => { await dir.remove(); });

describe('doppel config print', () => {
  it('merges defaults < file < environment < flags and masks secrets', async () => {
    const file = join(dir.path, 'doppel.json');
    await writeFile(file, JSON.stringify({ http: 9000, coap: 9001, historyRetention: 50, adminToken: 'file-admin-token-0123456789' }));
    const { code, stdout } = await doppel(['config', 'print', '--config', file, '--http', '9100'], { DOPPEL_COAP: '9101' });
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ http: 9100, coap: 9101, historyRetention: 50, adminToken: '***', sync: true, data: './data' });
    expect(stdout).not.toContain('file-admin-token');
  });

  it('prints a file that is itself a valid config (round trip)', async () => {
    const first = await doppel(['config', 'print', '--max-streams', '77', '--log-level', 'warn']);
    const file = join(dir.path, 'printed.json');
    await writeFile(file, first.stdout);
    const again = await doppel(['config', 'print'], { DOPPEL_CONFIG: file });
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(first.stdout));
  });

  it('exits 2 naming the problem: an unknown key, a bad value, a missing file', async () => {
    const typo = join(dir.path, 'typo.json');
    await writeFile(typo, '{"histroyRetention": 5}');
    const unknown = await doppel(['config', 'print', '--config', typo]);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain(`Unknown setting "histroyRetention" in ${typo}`);
    const bad = await doppel(['config', 'print', '--http', 'eighty']);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toContain('--http');
    const missing = await doppel(['config', 'print', '--config', join(dir.path, 'nope.json')]);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/nope.json does not exist/);
  });
});

describe('doppel serve --config', () => {
  it('runs with the settings of the file', async () => {
    const file = join(dir.path, 'serve.json');
    await writeFile(file, JSON.stringify({ historyRetention: 2, logLevel: 'info' }));
    const data = await tempDir('doppel-config-data-');
    const server = await startChildServer(data.path, ['--config', file]);
    try {
      const auth = { authorization: `Bearer ${process.env.DOPPEL_ADMIN_TOKEN ?? 'test-admin-token-0123456789abcdef'}`, 'content-type': 'application/json' };
      await fetch(`${server.url}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'c' }) });
      for (let i = 0; i < 4; i++) await fetch(`${server.url}/v1/twins/c`, { method: 'PATCH', headers: auth, body: JSON.stringify({ desired: { i } }) });
      const history = await (await fetch(`${server.url}/v1/twins/c/history`, { headers: auth })).json() as { items: unknown[] };
      expect(history.items).toHaveLength(2); // historyRetention 2, from the file
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
      await data.remove();
    }
  });

  it('refuses a bad config file with exit code 2 before binding anything', async () => {
    const file = join(dir.path, 'bad.json');
    await writeFile(file, '{"http": 8080,');
    const r = await doppel(['serve', '--config', file, '--http', '0', '--coap', '0', '--data', dir.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not valid JSON');
  });
});
