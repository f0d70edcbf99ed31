/**
 * Backups and migrations, end to end with the real CLI and real servers: an online backup taken
 * while writes go on restores to a consistent store (every twin's history replays to its state,
 * credentials still work); an offline backup equals the online one; restore refuses a used data
 * directory and a truncated file; export → import moves twins between servers, and import reads
 * AWS shadow and Azure twin documents.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newOutcomes, seedFleet, startMixedLoad, verifyDurability } from '../faults/mixed-load.ts';
import { ADMIN, doppelCli, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';

const execFileAsync = promisify(execFile);
const doppel = (args: string[], env: Record<string, string> = {}) => {
  const { file, args: base } = doppelCli();
  return execFileAsync(file, [...base, ...args], { env: { ...process.env, NO_COLOR: '1', DOPPEL_TOKEN: ADMIN, ...env }, timeout: 60_000, maxBuffer: 64 << 20 })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
};
const exists = (path: string) => access(path).then(() => true, () => false);
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const get = async (url: string, path: string) => (await fetch(`${url}${path}`, { headers: auth })).json() as Promise<Record<string, unknown>>;

let dir: Awaited<ReturnType<typeof tempDir>>;
const servers: ChildServer[] = [];
const serve = async (data: string) => { const s = await startChildServer(data); servers.push(s); return s; };
beforeAll(async () => { dir = await tempDir('doppel-backup-'); });
afterAll(async () => {
  for (const s of servers) await s.kill('SIGKILL');
  await dir.remove();
});

describe('doppel backup / restore', () => {
  it('takes a consistent online backup under load and restores it, credentials included', async () => {
    const source = await serve(join(dir.path, 'source'));
    const fleet = await seedFleet(source.url, 12);
    const key = ((await (await fetch(`${source.url}/v1/keys`, { method: 'POST', headers: auth, body: JSON.stringify({ scopes: ['twins:read'] }) })).json()) as { token: string }).token;
    const out = newOutcomes();
    const load = startMixedLoad({ url: source.url, coapPort: source.coapPort }, fleet, { http: 2, ws: 1, coap: 2 }, 'b', out);
    await new Promise((r) => setTimeout(r, 300));
    const file = join(dir.path, 'online.ndjson');
    const backup = await doppel(['backup', file, '--url', source.url]);
    await load.stop();
    expect(backup, backup.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^backed up \d+ records to /) });
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const restored = join(dir.path, 'restored');
    const restore = await doppel(['restore', file, '--data', restored]);
    expect(restore, restore.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^restored \d+ records \(12 twins\)/) });
    const copy = await serve(restored);
    // A snapshot: each twin's history replays to its state, versions contiguous. Writes acknowledged
    // before the backup began are in it (those after may or may not be).
    expect(await verifyDurability(copy.url, fleet, [])).toEqual([]);
    // Credentials came along: the API key and the device tokens work on the copy.
    expect((await fetch(`${copy.url}/v1/twins/fault-0`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    const device = fleet.tokens.get('fault-1')!;
    expect((await fetch(`${copy.url}/v1/twins/fault-1`, { headers: { authorization: `Bearer ${device}` } })).status).toBe(200);
    // And the out-of-sync count matches the source's index at the time (the pending index came along).
    const metrics = await (await fetch(`${copy.url}/metrics`)).text();
    expect(metrics).toMatch(/^doppel_twins_out_of_sync \d+$/m);
  });

  it('backs up a stopped server offline, identical to an online backup of the same data', async () => {
    const data = join(dir.path, 'still');
    const server = await serve(data);
    await seedFleet(server.url, 5);
    const online = join(dir.path, 'still-online.ndjson');
    expect((await doppel(['backup', online, '--url', server.url])).code).toBe(0);
    // While the server holds the store, an offline backup is refused with a clear message.
    const busy = await doppel(['backup', join(dir.path, 'busy.ndjson'), '--offline', '--data', data]);
    expect(busy).toMatchObject({ code: 1, stderr: `Data directory ${data} is in use by another Doppel server (its LevelDB lock is held): back it up online (leave out --offline), or stop that server first\n` });
    // So is a restore into it (the same one line), and an offline backup of a mistyped directory,
    // which would otherwise open an empty store there and back up nothing.
    const into = await doppel(['restore', online, '--data', data]);
    expect(into).toMatchObject({ code: 1, stderr: expect.stringContaining(`Data directory ${data} is in use by another Doppel server`) });
    const typo = await doppel(['backup', join(dir.path, 'typo.ndjson'), '--offline', '--data', `${data}-typo`]);
    expect(typo).toMatchObject({ code: 1, stderr: `doppel backup: no store in ${data}-typo (no ${join(`${data}-typo`, 'db')}): is --data right?\n` });
    expect(await exists(`${data}-typo`)).toBe(false);
    expect(await server.kill('SIGTERM')).toBe(0);
    const offline = join(dir.path, 'still-offline.ndjson');
    expect((await doppel(['backup', offline, '--offline', '--data', data])).code).toBe(0);
    const records = async (f: string) => (await readFile(f, 'utf8')).split('\n').slice(1).join('\n'); // all but the header's timestamp
    expect(await records(offline)).toEqual(await records(online));
  });

  it('keeps an earlier backup of the same name when a download is cut short', async () => {
    const good = join(dir.path, 'still-online.ndjson');
    const lines = (await readFile(good, 'utf8')).split('\n');
    const file = join(dir.path, 'nightly.ndjson');
    await writeFile(file, 'yesterday\n');
    // A server whose connection drops halfway through the backup: the header and a few records.
    const cut = createServer((_req, res) => { res.writeHead(200); res.write(`${lines.slice(0, 3).join('\n')}\n`, () => setTimeout(() => res.destroy(), 100)); });
    await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
    try {
      const run = await doppel(['backup', file, '--url', `http://127.0.0.1:${(cut.address() as AddressInfo).port}`]);
      expect(run, run.stderr).toMatchObject({ code: 1, stderr: expect.stringMatching(/^doppel: backup cut short after 2 records \(.+\): /) });
      expect(run.stderr.split('\n')).toEqual([expect.stringContaining(`: ${file} was left as it was; try again`), '']); // one line, no stack trace
    } finally {
      cut.closeAllConnections();
      await new Promise((resolve) => cut.close(resolve));
    }
    expect(await readFile(file, 'utf8')).toBe('yesterday\n');
    expect(await exists(`${file}.partial`)).toBe(false);
  });

  it('refuses to restore into a used data directory, or from a truncated or foreign file', async () => {
    const file = join(dir.path, 'still-online.ndjson');
    const used = await doppel(['restore', file, '--data', join(dir.path, 'still')]);
    expect(used.code).toBe(2);
    expect(used.stderr).toContain('already holds a store');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const truncated = join(dir.path, 'truncated.ndjson');
    await writeFile(truncated, `${lines.slice(0, -1).join('\n')}\n`);
    const cut = await doppel(['restore', truncated, '--data', join(dir.path, 'from-truncated')]);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('the backup is truncated');
    // A failed restore leaves no part of a store behind: the same directory takes the whole file.
    expect(await exists(join(dir.path, 'from-truncated', 'db'))).toBe(false);
    expect((await doppel(['restore', file, '--data', join(dir.path, 'from-truncated')])).code).toBe(0);
    // A mistyped file name is said in one line, before any data directory is created.
    const missing = await doppel(['restore', join(dir.path, 'nope.ndjson'), '--data', join(dir.path, 'from-nothing')]);
    expect(missing).toMatchObject({ code: 1, stderr: `doppel restore: no backup file ${join(dir.path, 'nope.ndjson')}\n` });
    expect(await exists(join(dir.path, 'from-nothing'))).toBe(false);
    const foreign = join(dir.path, 'foreign.ndjson');
    await writeFile(foreign, '{"hello":"world"}\n');
    expect((await doppel(['restore', foreign, '--data', join(dir.path, 'from-foreign')])).stderr).toContain('no backup header');
  });
});

describe('doppel export / import', () => {
  let a: ChildServer;
  let b: ChildServer;
  beforeAll(async () => {
    a = await serve(join(dir.path, 'a'));
    b = await serve(join(dir.path, 'b'));
  });

  it('moves twins between servers: desired, reported and tags arrive intact', async () => {
    for (const id of ['m-1', 'm-2', 'other']) {
      await fetch(`${a.url}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id, desired: { temp: 21, name: `é ${id}` }, tags: { site: 'berlin' } }) });
      await fetch(`${a.url}/v1/twins/${id}/reported`, { method: 'PATCH', headers: auth, body: JSON.stringify({ temp: 19, fw: { v: [1, 2] } }) });
    }
    const file = join(dir.path, 'export.ndjson');
    const exported = await doppel(['export', file, '--url', a.url, '--prefix', 'm-']);
    expect(exported.stdout).toContain('exported 2 twins');
    const imported = await doppel(['import', file, '--url', b.url]);
    expect(imported, imported.stderr).toMatchObject({ code: 0, stdout: 'imported 2 twins, skipped 0 that exist, 0 failed\n' });
    for (const id of ['m-1', 'm-2']) {
      const [from, to] = await Promise.all([get(a.url, `/v1/twins/${id}`), get(b.url, `/v1/twins/${id}`)]);
      for (const part of ['desired', 'reported', 'tags', 'delta']) expect(to[part], `${id}.${part}`).toEqual(from[part]);
    }
    expect((await fetch(`${b.url}/v1/twins/other`, { headers: auth })).status).toBe(404);
    // Again: every line conflicts; with --skip-existing they are skipped instead.
    expect(await doppel(['import', file, '--url', b.url])).toMatchObject({ code: 1, stdout: expect.stringContaining('0 twins, skipped 0 that exist, 2 failed') });
    expect(await doppel(['import', file, '--url', b.url, '--skip-existing'])).toMatchObject({ code: 0, stdout: expect.stringContaining('skipped 2 that exist') });
  });

  it('imports AWS IoT shadow and Azure IoT Hub twin documents, and reports bad lines without stopping', async () => {
    const file = join(dir.path, 'foreign.jsonl');
    await writeFile(file, [
      JSON.stringify({ thingName: 'aws-1', state: { desired: { color: 'red' }, reported: { color: 'blue' }, delta: { color: 'red' } }, metadata: {}, version: 7 }),
      JSON.stringify({ deviceId: 'az-1', tags: { floor: 3 }, properties: { desired: { fan: 'on', $metadata: {}, $version: 4 }, reported: { fan: 'off', $version: 2 } } }),
      'not json',
      JSON.stringify({ state: { desired: {} } }),
      JSON.stringify({ id: 'ok-1', desired: { x: 1 } }),
    ].join('\n'));
    const r = await doppel(['import', file, '--url', b.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('imported 3 twins, skipped 0 that exist, 2 failed');
    expect(r.stderr).toMatch(/line 3: .*JSON/);
    expect(r.stderr).toContain('line 4: an AWS shadow document needs "thingName"');
    expect(await get(b.url, '/v1/twins/aws-1')).toMatchObject({ desired: { color: 'red' }, reported: { color: 'blue' }, delta: { color: 'red' } });
    expect(await get(b.url, '/v1/twins/az-1')).toMatchObject({ desired: { fan: 'on' }, reported: { fan: 'off' }, tags: { floor: 3 } });
    expect((await get(b.url, '/v1/twins/az-1')).desired).not.toHaveProperty('$version');
  });
});
