/**
 * Test servers, on the runtime under test: `DOPPEL_TEST_RUNTIME=node` (the default) runs the real
 * server in-process; `DOPPEL_TEST_RUNTIME=deno` runs it as a child process with the exact command
 * of `npm run start:deno`, so the same integration suite proves both runtimes. Crash tests always
 * use a child process (`startChildServer`), on the same runtime. Every helper cleans up what it
 * started; every server binds port 0 and keeps LevelDB in a temp dir.
 *
 * `DOPPEL_TEST_CLUSTER=1` runs every test server in cluster mode instead, each on its own fresh
 * nats-server (bench/nats-servers.ts): the same integration files then prove that one cluster node
 * serves HTTP, WebSocket and CoAP exactly like a single node.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliCommand, projectRoot, serverCommand as startCommand } from '../../bench/server-command.ts';
import type { ServerRuntime } from '../../bench/server-command.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { nodeRuntime } from '../../src/runtime/node.ts';
import { startServer } from '../../src/server.ts';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import type { DoppelServer, ServerOptions } from '../../src/server.ts';

export type TestRuntime = ServerRuntime;
export const TEST_RUNTIME: TestRuntime = process.env.DOPPEL_TEST_RUNTIME === 'deno' ? 'deno' : 'node';
/** True when the server runs inside the test process (its internals reachable as `t.local`). */
export const IN_PROCESS = TEST_RUNTIME === 'node';
/** True when test servers run in cluster mode (on a nats-server of their own). */
export const CLUSTER_MODE = process.env.DOPPEL_TEST_CLUSTER === '1';

const root = projectRoot;
/** The command that starts the server on `runtime` (package.json's `start` / `start:deno`). */
export const serverCommand = (runtime: TestRuntime = TEST_RUNTIME) => startCommand(runtime);

/** The `doppel` CLI on `runtime` (node dist/src/cli.js, or deno run … src/cli.ts): append a command. */
export const doppelCli = (runtime: TestRuntime = TEST_RUNTIME) => cliCommand(runtime);

export const ADMIN = 'test-admin-token-0123456789abcdef';

export async function tempDir(prefix = 'doppel-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** What tests may touch on any runtime. */
export interface ServerHandle {
  readonly httpPort: number;
  readonly coapPort: number;
  /** Graceful stop (in-process: `close()`; child process: SIGTERM, then exit code 0 expected). */
  close(): Promise<void>;
}

export interface TestServer {
  server: ServerHandle;
  /** The in-process server, for the few tests that reach into internals; undefined on Deno. */
  local: DoppelServer | undefined;
  url: string;
  dataDir: string;
  /** fetch against the server with the admin token unless `token` is given (null: none). */
  call(method: string, path: string, opts?: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestServer(flags: string[] = [], opts: { dataDir?: string; nats?: NatsCluster } & ServerOptions = {}): Promise<TestServer> {
  // A nats-server of this server's own, unless the caller brought one (and stops it itself).
  const ownNats = CLUSTER_MODE && opts.nats === undefined && !flags.includes('--cluster') ? await startNats(1) : undefined;
  const nats = opts.nats ?? ownNats;
  if (nats !== undefined && !flags.includes('--cluster')) flags = ['--cluster', nats.urls.join(','), '--node-id', 'n1', ...flags];
  const dir = opts.dataDir === undefined ? await tempDir() : null;
  const dataDir = opts.dataDir ?? dir!.path;
  let server: ServerHandle;
  let local: DoppelServer | undefined;
  // With --tls-cert the server speaks HTTPS/WSS only; `url` says so (`call` uses the global fetch,
  // which trusts only public CAs: TLS tests talk to the server with curl --cacert or ws's `ca`).
  let scheme = flags.some((f) => f === '--tls-cert' || f.startsWith('--tls-cert=')) ? 'https' : 'http';
  if (IN_PROCESS) {
    const config = loadConfig(['--http', '0', '--coap', '0', '--data', dataDir, '--admin-token', ADMIN, ...flags], {});
    server = local = await startServer(config, nodeRuntime, silentLogger, { ...(opts.storeHooks ? { storeHooks: opts.storeHooks } : {}) })
      .catch(async (err: unknown) => { await ownNats?.stop(); throw err; });
  } else {
    if (opts.storeHooks !== undefined) throw new Error('store hooks need the in-process server (test/in-process/)');
    const child = await startChildServer(dataDir, ['--admin-token', ADMIN, ...flags]);
    scheme = new URL(child.url).protocol.slice(0, -1);
    server = {
      httpPort: child.port,
      coapPort: child.coapPort,
      close: async () => {
        const code = await child.kill('SIGTERM');
        if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM: ${child.stderr()}`);
      },
    };
  }
  const url = `${scheme}://127.0.0.1:${server.httpPort}`;
  return {
    server, local, url, dataDir,
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
      await ownNats?.stop();
    },
  };
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  port: number;
  coapPort: number;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the server as a child process on `runtime` (`npm start`'s or `npm run start:deno`'s command)
 * and waits for its "listening" log line.
 */
export async function startChildServer(
  dataDir: string, flags: string[] = [], env: Record<string, string> = {}, runtime: TestRuntime = TEST_RUNTIME,
): Promise<ChildServer> {
  const command = serverCommand(runtime);
  const child = spawn(command.file, [...command.args, '--http', '0', '--coap', '0', '--data', dataDir, ...flags], {
    cwd: root,
    env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ports = await new Promise<{ http: number; coap: number; scheme: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000);
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: number; coap?: number; runtime?: string; tls?: boolean };
        if (entry.msg === 'listening' && typeof entry.http === 'number' && typeof entry.coap === 'number') {
          clearTimeout(timer);
          // The server names its adapter: proof the suite runs on the runtime it claims to.
          if (entry.runtime !== runtime) reject(new Error(`expected a ${runtime} server, got ${entry.runtime}`));
          else resolve({ http: entry.http, coap: entry.coap, scheme: entry.tls === true ? 'https' : 'http' });
        }
      } catch { /* not a log line */ }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${stderr}`)); });
  }).catch((err: unknown) => {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw err;
  });
  return {
    child, port: ports.http, coapPort: ports.coap, url: `${ports.scheme}://127.0.0.1:${ports.http}`, exited,
    stderr: () => stderr,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
