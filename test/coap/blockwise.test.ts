/**
 * Block-wise transfers (RFC 7959) with libcoap, which sends a new token per block tied together
 * by Request-Tag: a 5 KB reported document up in 64-byte blocks, the twin down in 64-byte blocks,
 * and a notification bigger than one block.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { COAP_CLIENT, createTwin, eventually, libcoap, metric, startCoapServer } from './helpers.ts';

let t: TestServer & { port: number };
let token: string;
let dir: string;

beforeAll(async () => {
  t = await startCoapServer();
  token = await createTwin(t, 'big-1', { temp: 21 });
  dir = await mkdtemp(join(tmpdir(), 'doppel-coap-'));
});
afterAll(async () => {
  await t?.stop();
  await rm(dir, { recursive: true, force: true });
});

const uri = (path: string) => `coap://127.0.0.1:${t.port}${path}?token=${token}`;
/** A reported document of about `bytes` bytes as JSON. */
const bigDocument = (bytes: number, tag: string) => Object.fromEntries(Array.from({ length: Math.ceil(bytes / 32) }, (_, i) => [`sensor_${String(i).padStart(4, '0')}`, `${tag}-${'x'.repeat(16)}`]));

describe('CoAP block-wise with libcoap -b 64', () => {
  it('uploads a 5 KB reported document with Block1 (new token per block, Request-Tag)', async () => {
    const doc = bigDocument(5000, 'up');
    const file = join(dir, 'reported.json');
    await writeFile(file, JSON.stringify(doc));
    expect(JSON.stringify(doc).length).toBeGreaterThan(5000);
    const put = await libcoap(['-B', '10', '-m', 'put', '-b', '64', '-t', '50', '-f', file, uri('/t/big-1/reported')]);
    expect(JSON.parse(put.stdout)).toEqual({ version: 2, delta: { temp: 21 } });
    const twin = (await (await t.call('GET', '/v1/twins/big-1')).json()) as { reported: unknown };
    expect(twin.reported).toEqual(doc);
  });

  it('downloads the twin with Block2 in 64-byte blocks', async () => {
    const get = await libcoap(['-B', '10', '-m', 'get', '-b', '64', uri('/t/big-1')]);
    const view = JSON.parse(get.stdout) as { version: number; reported: Record<string, unknown> };
    expect(view.version).toBe(2);
    expect(Object.keys(view.reported)).toHaveLength(Object.keys(bigDocument(5000, 'up')).length);
  });

  it('delivers a notification bigger than one block (first block, then the client fetches the rest)', async () => {
    const before = await metric(t, 'doppel_coap_observations');
    const child = spawn(COAP_CLIENT, ['-s', '5', '-B', '6', '-m', 'get', uri('/t/big-1/desired')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const desired = bigDocument(3000, 'down');
    try {
      await eventually(async () => (await metric(t, 'doppel_coap_observations')) === before + 1, 'libcoap observing');
      const res = await t.call('PATCH', '/v1/twins/big-1', { body: { desired } });
      expect(res.status).toBe(200);
      // libcoap prints the reassembled body: the merged desired, the old temp first.
      await eventually(() => out.includes(JSON.stringify({ temp: 21, ...desired })), 'the whole notification printed', 5000);
    } finally {
      child.kill();
      await exited;
    }
  });
});
