/**
 * Test servers: the real server in-process (port 0, LevelDB in a temp dir), or as a child process
 * of the built CLI for crash tests. Every helper cleans up what it started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { nodeRuntime } from '../../src/runtime/node.ts';
import { startServer } from '../../src/server.ts';
import type { DoppelServer } from '../../src/server.ts';

export const ADMIN = 'test-admin-token-0123456789abcdef';

export async function tempDir(prefix = 'doppel-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestServer {
  server: DoppelServer;
  url: string;
  dataDir: string;
  /** fetch against the server with the admin token unless `token` is given (null: none). */
  call(method: string, path: string, opts?: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestServer(flags: string[] = [], opts: { dataDir?: string } = {}): Promise<TestServer> {
  const dir = opts.dataDir === undefined ? await tempDir() : null;
  const dataDir = opts.dataDir ?? dir!.path;
  const config = loadConfig(['--http', '0', '--coap', '0', '--data', dataDir, '--admin-token', ADMIN, ...flags], {});
  const server = await startServer(config, nodeRuntime, silentLogger);
  const url = `http://127.0.0.1:${server.httpPort}`;
  return {
    server, url, dataDir,
    call: (method, path, o = {}) => {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? ADMIN : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) { body = JSON.stringify(o.body); headers['content-type'] ??= 'application/json'; }
      return fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    },
    stop: async () => {
      await server.close();
      await dir?.remove();
    },
  };
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  port: number;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the built CLI (`dist/src/cli.js serve`) and waits for its "listening" log line. */
export async function startChildServer(dataDir: string, flags: string[] = [], env: Record<string, string> = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, ['dist/src/cli.js', 'serve', '--http', '0', '--coap', '0', '--data', dataDir, ...flags], {
    env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000);
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: number };
        if (entry.msg === 'listening' && typeof entry.http === 'number') { clearTimeout(timer); resolve(entry.http); }
      } catch { /* not a log line */ }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${stderr}`)); });
  });
  return {
    child, port, url: `http://127.0.0.1:${port}`, exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
