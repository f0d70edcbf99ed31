import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, serverCommand, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';

const execFileAsync = promisify(execFile);
/** Runs the CLI on the runtime under test (`serve` is part of the command, as in package.json). */
const cli = (args: string[]) => { const { file, args: base } = serverCommand(); return execFileAsync(file, [...base, ...args]); };
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

describe('doppel serve', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;

  beforeAll(async () => { dir = await tempDir('doppel-cli-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  it('drains on SIGTERM: in-flight writes finish, the process exits 0 and LevelDB reopens with every acknowledged write', async () => {
    server = await startChildServer(dir.path);
    expect((await fetch(`${server.url}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'drain' }) })).status).toBe(201);
    const acked: number[] = [];
    const writes = Array.from({ length: 50 }, (_, i) => fetch(`${server!.url}/v1/twins/drain`, {
      method: 'PATCH', headers: auth, body: JSON.stringify({ desired: { [`k${i}`]: i } }),
    }).then(async (res) => { if (res.status === 200) acked.push(i); }, () => {}));
    await new Promise((r) => setTimeout(r, 5));
    expect(await server.kill('SIGTERM')).toBe(0);
    await Promise.all(writes);

    server = await startChildServer(dir.path);
    const twin = await (await fetch(`${server.url}/v1/twins/drain`, { headers: auth })).json() as { version: number; desired: Record<string, number> };
    for (const i of acked) expect(twin.desired[`k${i}`]).toBe(i);
    expect(twin.version).toBe(1 + Object.keys(twin.desired).length);
    expect(await server.kill('SIGTERM')).toBe(0);
    server = null;
  });

  it('keeps serving when the reader of its log goes away (no crash on EPIPE)', async () => {
    const fresh = await tempDir('doppel-epipe-');
    const child = await startChildServer(fresh.path, ['--log-level', 'debug']);
    try {
      child.child.stdout!.destroy(); // the log reader is gone; every request still logs a line
      for (let i = 0; i < 5; i++) expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
      expect(child.child.exitCode).toBeNull();
    } finally {
      await child.kill('SIGKILL');
      await fresh.remove();
    }
  });

  it('refuses a bad flag with exit code 2 and a message naming it', async () => {
    const err = await cli(['--htp', '1']).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('Unknown flag "--htp"');
    const bad = await cli(['--http', 'eighty']).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--http');
  });

  it('prints every flag in --help', async () => {
    const { stdout } = await cli(['--help']);
    for (const flag of ['--data', '--http', '--coap', '--host', '--sync', '--history-retention']) expect(stdout).toContain(flag);
  });

  it('generates the admin token once into <data>/admin-token with mode 0600 and prints it', async () => {
    const fresh = await tempDir('doppel-admin-');
    try {
      const first = await startChildServer(fresh.path, [], { DOPPEL_ADMIN_TOKEN: '' });
      const { readFile, stat } = await import('node:fs/promises');
      const token = (await readFile(`${fresh.path}/admin-token`, 'utf8')).trim();
      expect((await stat(`${fresh.path}/admin-token`)).mode & 0o777).toBe(0o600);
      expect((await fetch(`${first.url}/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await first.kill('SIGTERM');
      const second = await startChildServer(fresh.path, [], { DOPPEL_ADMIN_TOKEN: '' });
      expect((await fetch(`${second.url}/v1/keys`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await second.kill('SIGTERM');
    } finally {
      await fresh.remove();
    }
  });
});
