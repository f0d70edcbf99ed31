/**
 * Servers as child processes for the benchmarks: start one (its package.json command on a runtime,
 * or any script), wait for its `listening` line, read its CPU time, stop it. Benchmarks measure the
 * server from outside, as an operator would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { projectRoot, serverCommand } from './server-command.ts';
import type { ServerRuntime } from './server-command.ts';

export const BENCH_ADMIN = 'bench-admin-token-0123456789abcdef';

export interface Started {
  child: ChildProcess;
  port: number;
  /** The CoAP port, when the process serves CoAP. */
  coapPort: number;
  /** spawn → "listening" line, wall clock. */
  wallMs: number;
  /** The server's own startupMs (from entering startServer to listening). */
  startupMs: number;
}

export function start(file: string, args: string[], env: Record<string, string> = {}): Promise<Started> {
  const t0 = performance.now();
  // BENCH_SERVER_CPUS=1 (with the harness under `taskset -c 0`): servers on their own core(s), so
  // the scheduler cannot put server and load generator on one core in some runs and not others.
  const pinned = process.env.BENCH_SERVER_CPUS;
  const child = spawn(pinned ? 'taskset' : file, pinned ? ['-c', pinned, file, ...args] : args, { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<Started>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as { msg?: string; http?: number; coap?: number; startupMs?: number };
        if (e.msg === 'listening' && (e.http || e.coap)) resolve({ child, port: e.http ?? 0, coapPort: e.coap ?? 0, wallMs: performance.now() - t0, startupMs: e.startupMs ?? NaN });
      } catch { /* not a log line */ }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

export async function stop(s: Started): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** Starts the Doppel server on `runtime` (the package.json command) with a data dir, flags and extra environment. */
export function startDoppel(runtime: ServerRuntime, dir: string, flags: string[] = [], env: Record<string, string> = {}): Promise<Started> {
  const { file, args } = serverCommand(runtime);
  return start(file, [...args, '--http', '0', '--coap', '0', '--data', dir, ...flags], { ...env, DOPPEL_ADMIN_TOKEN: BENCH_ADMIN });
}

/** User+system CPU seconds of a process so far (Linux /proc). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}
