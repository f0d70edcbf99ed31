/**
 * Starting a cluster node as a real `doppel serve` process: a second live node with the same
 * --node-id, and more replicas than the NATS servers can hold, each end the start with one line;
 * a node that cannot reach NATS starts anyway, stays not ready (/readyz 503, writes 503 with
 * Retry-After), and says why in its log.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { freePort, startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { eventually } from '../support/eventually.ts';
import { ADMIN, serverCommand, startChildServer, tempDir } from '../support/server.ts';

let nats: NatsCluster;
beforeAll(async () => { nats = await startNats(1); }, 60_000);
afterAll(async () => { await nats?.stop(); });

/** Runs `doppel serve <flags>` to its exit (a start that must fail); kills it if it listens instead. */
async function serveToExit(flags: string[]): Promise<{ code: number | null; stderr: string }> {
  const dir = await tempDir('doppel-cluster-start-');
  const command = serverCommand();
  const child = spawn(command.file, [...command.args, '--http', '0', '--coap', '0', '--data', dir.path, ...flags], {
    cwd: projectRoot, env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); if (stdout.includes('"listening"')) child.kill('SIGKILL'); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  await dir.remove();
  return { code, stderr };
}

const expectOneLine = (outcome: { code: number | null; stderr: string }, line: RegExp) => {
  expect(outcome.code, outcome.stderr).not.toBe(0);
  expect(outcome.code).not.toBeNull(); // exited by itself, not killed after listening
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(outcome.stderr).toMatch(line);
};

describe('cluster node start', () => {
  it('refuses more replicas than the NATS servers can hold, in one line', async () => {
    // The same server three times: the URLs allow R3, the server (not clustered) does not.
    const url = nats.urls[0]!;
    expectOneLine(await serveToExit(['--cluster', [url, url, url].join(','), '--node-id', 'r3', '--cluster-replicas', '3']), /Invalid --cluster-replicas 3: the NATS servers cannot hold 3 copies/);
  });

  it('refuses a second live node with the same --node-id, in one line', async () => {
    const dir = await tempDir('doppel-cluster-start-');
    const first = await startChildServer(dir.path, ['--cluster', nats.urls[0]!, '--node-id', 'twice']);
    try {
      expectOneLine(await serveToExit(['--cluster', nats.urls[0]!, '--node-id', 'twice']), /Invalid --node-id twice: a live node already uses it/);
    } finally {
      await first.kill('SIGTERM');
      await dir.remove();
    }
  });

  it('starts without NATS, stays not ready with writes answering 503 and Retry-After, and logs why', async () => {
    const dir = await tempDir('doppel-cluster-start-');
    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    const command = serverCommand();
    const child = spawn(command.file, [...command.args, '--http', '0', '--coap', '0', '--data', dir.path, '--cluster', nowhere, '--node-id', 'lonely'], {
      cwd: projectRoot, env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    try {
      const listening = await eventually(async () => stdout.split('\n').map((l) => { try { return JSON.parse(l) as { msg?: string; url?: string }; } catch { return {}; } }).find((e) => e.msg === 'listening'), 'the node to listen', 20_000);
      expect(stdout).toContain('cannot reach the NATS cluster; retrying');
      expect((await fetch(`${listening.url}/readyz`)).status).toBe(503);
      const write = await fetch(`${listening.url}/v1/twins`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"id":"x"}' });
      expect(write.status).toBe(503);
      expect(write.headers.get('retry-after')).not.toBeNull();
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await dir.remove();
    }
  });
});
