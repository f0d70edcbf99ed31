#!/usr/bin/env node
/**
 * @module
 * The `doppel` command: argument parsing → server assembly. `doppel serve [flags]` runs the
 * server until SIGTERM/SIGINT, then drains and exits 0.
 */
import { describeConfig, loadConfig } from './config.ts';
import type { Config } from './config.ts';
import { isDoppelError } from './errors.ts';
import { createLogger } from './log.ts';
import { loadRuntime } from './runtime/index.ts';
import { startServer } from './server.ts';

function usage(): string {
  const rows = describeConfig().map((s) => `  ${`${s.flag} <${s.key}>`.padEnd(34)} ${s.help} [${s.env}${s.default === undefined ? '' : `, default ${JSON.stringify(s.default)}`}]`);
  return ['Usage: doppel serve [flags]', '', 'Runs the Doppel twin server (HTTP twin API; LevelDB in --data).', '', 'Flags (each also an environment variable):', ...rows].join('\n');
}

async function main(): Promise<void> {
  const runtime = await loadRuntime();
  const [command, ...rest] = runtime.args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    runtime.writeStdout(usage());
    return;
  }
  if (command !== 'serve') {
    runtime.writeStderr(`Unknown command "${command}": try doppel --help`);
    runtime.exit(2);
  }
  if (rest.includes('--help') || rest.includes('-h')) { runtime.writeStdout(usage()); return; }
  let config: Config;
  try {
    config = loadConfig(rest, runtime.env);
  } catch (err) {
    runtime.writeStderr(isDoppelError(err) ? err.message : String(err));
    return runtime.exit(2);
  }
  const logger = createLogger(config.logLevel, (line) => runtime.writeStdout(line));
  const server = await startServer(config, runtime, logger);
  runtime.onShutdownSignal((signal) => {
    logger.info('draining', { signal });
    server.close().then(() => runtime.exit(0), (err: unknown) => {
      logger.error('shutdown failed', { err });
      runtime.exit(1);
    });
  });
}

main().catch((err: unknown) => {
  console.error(`doppel: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  // Node and Deno 2 both expose `process`; setting exitCode lets pending output flush.
  (globalThis as { process?: { exitCode?: number } }).process!.exitCode = 1;
});
