/**
 * The first start as a new user meets it, on the runtime under test (Node or Deno), always as a
 * real `doppel serve` process: a busy HTTP or CoAP port and a data directory held by another
 * server each end the start with one readable line and exit code 1, and generate nothing (no
 * admin token printed or written, no data directory left where there was none); `--sync false`
 * warns at startup and the default does not.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { serverCommand, startChildServer, tempDir } from '../support/server.ts';

/** The environment of a user who set nothing: no DOPPEL_* from the test process. */
const cleanEnv = () => Object.fromEntries(Object.entries({ ...process.env, NO_COLOR: '1' }).filter(([k]) => !k.startsWith('DOPPEL_')));

interface Outcome { code: number | null; stdout: string; stderr: string }

/** Runs `doppel serve <flags>` to its exit (a start that must fail); kills it if it listens instead. */
function serveToExit(flags: string[]): Promise<Outcome> {
  const command = serverCommand();
  const child = spawn(command.file, [...command.args, ...flags], { cwd: projectRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('"listening"')) child.kill('SIGKILL'); // it should not have started
  });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs `doppel serve <flags>` until it listens, then stops it; returns its log lines. */
async function logUntilListening(flags: string[], dataDir: string): Promise<Array<Record<string, unknown>>> {
  const command = serverCommand();
  const child = spawn(command.file, [...command.args, '--http', '0', '--coap', '0', '--data', dataDir, ...flags], { cwd: projectRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); if (stdout.includes('"listening"')) resolve(); });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The one line a failed start may print, and proof that it generated nothing. */
function expectOneLineAndNothingGenerated(outcome: Outcome, line: RegExp): void {
  expect(outcome.code).toBe(1);
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(outcome.stderr.trim()).toMatch(line);
  expect(outcome.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(`${outcome.stdout}${outcome.stderr}`).not.toMatch(/dpa_|admin token generated/);
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => { dir = await tempDir('doppel-startup-'); });
afterAll(async () => { await dir.remove(); });

describe('a start that cannot bind or lock', () => {
  it('a busy HTTP port: one line naming the port and --http, exit 1, no data directory created', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const dataDir = join(dir.path, 'never-created');
      const outcome = await serveToExit(['--http', String(port), '--coap', '0', '--data', dataDir]);
      expectOneLineAndNothingGenerated(outcome, new RegExp(`^HTTP port ${port} \\(TCP\\) is already in use on 127\\.0\\.0\\.1: .*--http <port>$`));
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a busy CoAP port: one line naming the UDP port and --coap, exit 1, no admin-token file and no db', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    const port = holder.address().port;
    try {
      const dataDir = (await tempDir('doppel-startup-coap-')).path; // exists, empty: the user made it
      const outcome = await serveToExit(['--http', '0', '--coap', String(port), '--data', dataDir]);
      expectOneLineAndNothingGenerated(outcome, new RegExp(`^CoAP port ${port} \\(UDP\\) is already in use on 127\\.0\\.0\\.1: .*--coap <port>$`));
      expect(existsSync(dataDir)).toBe(true);
      expect(existsSync(join(dataDir, 'admin-token'))).toBe(false);
      expect(existsSync(join(dataDir, 'db'))).toBe(false);
    } finally {
      holder.close();
    }
  });

  it('a data directory in use by another server: one line naming it and --data, exit 1, no admin-token file', async () => {
    const dataDir = join(dir.path, 'shared');
    const first = await startChildServer(dataDir); // its admin token comes from the environment
    try {
      const outcome = await serveToExit(['--http', '0', '--coap', '0', '--data', dataDir]);
      expectOneLineAndNothingGenerated(outcome, new RegExp(`^Data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another Doppel server.*--data <dir>$`));
      expect(existsSync(join(dataDir, 'admin-token'))).toBe(false);
    } finally {
      expect(await first.kill('SIGTERM')).toBe(0);
    }
  });
});

describe('durability at startup', () => {
  const warning = (lines: Array<Record<string, unknown>>) => lines.find((l) => l.level === 'warn' && String(l.msg).includes('power loss'));

  it('--sync false warns that acknowledged writes may be lost on power loss', async () => {
    const lines = await logUntilListening(['--sync', 'false'], join(dir.path, 'nosync'));
    expect(warning(lines)).toBeDefined();
  });

  it('the default (fsync) does not warn, and a first start announces its generated admin token', async () => {
    const dataDir = join(dir.path, 'default');
    const lines = await logUntilListening([], dataDir);
    expect(warning(lines)).toBeUndefined();
    expect(lines.some((l) => l.msg === 'admin token generated (shown once; also in the file)')).toBe(true);
    expect(existsSync(join(dataDir, 'admin-token'))).toBe(true);
  });
});
