/**
 * Runs the built `doppel` CLI (dist/src/cli.js, built by the vitest globalSetup) as a child process
 * in an empty working directory with a clean environment, and keeps a transcript of every run so
 * a test can prove no secret was ever printed except the one a command just created.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';

const CLI = join(projectRoot, 'dist', 'src', 'cli.js');
/** Generous: a node start on a busy 2-core machine can take seconds. */
const RUN_TIMEOUT_MS = 20_000;

export interface CliRun {
  args: string[];
  /** Exit code; -1 if killed (timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cli {
  /** An empty directory: the default working directory, so `./data` never finds a real server's token. */
  readonly dir: string;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string; cwd?: string }): Promise<CliRun>;
  /** Every run so far, in order. */
  readonly transcript: readonly CliRun[];
  /** Writes `<dir>/<name>/admin-token` (with the newline the server writes) and returns the data dir. */
  dataDir(name: string, token: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** `env` is the base environment of every run (e.g. DOPPEL_URL); DOPPEL_* of the test process never leak in. */
export async function createCli(env: Record<string, string> = {}): Promise<Cli> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-cli-'));
  const transcript: CliRun[] = [];
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DOPPEL_') && v !== undefined) clean[k] = v;
  return {
    dir,
    transcript,
    run: (args, opts = {}) => new Promise<CliRun>((resolve) => {
      const child = execFile(process.execPath, [CLI, ...args], {
        cwd: opts.cwd ?? dir, timeout: RUN_TIMEOUT_MS, encoding: 'utf8',
        env: { ...clean, NO_COLOR: '1', ...env, ...opts.env },
      }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        const run = { args, code, stdout, stderr };
        transcript.push(run);
        resolve(run);
      });
      // Always close stdin, so a command that reads it can never wait forever.
      child.stdin!.end(opts.input ?? '');
    }),
    async dataDir(name, token) {
      const path = join(dir, name);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'admin-token'), `${token}\n`, { mode: 0o600 });
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A port nothing listens on: bound, then released (never a fixed port). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The run failed with a problem reply: exit 1, nothing on stdout, one line `doppel: <code>: … (<status>)` on stderr. */
export function expectProblem(run: CliRun, code: string, status: number): void {
  expect({ code: run.code, stdout: run.stdout }, run.stderr).toEqual({ code: 1, stdout: '' });
  expect(run.stderr).toMatch(new RegExp(`^doppel: ${code}: .+ \\(${status}\\)(;[^\\n]*)?\\n$`));
}

/** The run was refused as a usage error: exit 2, nothing on stdout, the message on stderr. */
export function expectUsage(run: CliRun, message: RegExp): void {
  expect({ code: run.code, stdout: run.stdout }, `${run.args.join(' ')}: ${run.stderr}`).toEqual({ code: 2, stdout: '' });
  expect(run.stderr).toMatch(message);
}

/**
 * No run printed any of `secrets`, and each created token appears only on the stdout of the run
 * that created it (never on stderr, never again).
 */
export function expectNoLeaks(transcript: readonly CliRun[], secrets: readonly string[], created: ReadonlyMap<string, CliRun>): void {
  for (const run of transcript) {
    const output = run.stdout + run.stderr;
    for (const s of secrets) expect(output.includes(s), `${run.args.join(' ')} printed a secret`).toBe(false);
    for (const [token, creator] of created) {
      if (run === creator) {
        expect(run.stderr.includes(token), 'a new token on stderr').toBe(false);
        expect(run.stdout.includes(token)).toBe(true);
      } else {
        expect(output.includes(token), `${run.args.join(' ')} printed a token it did not create`).toBe(false);
      }
    }
  }
}
