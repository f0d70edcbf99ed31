#!/usr/bin/env node
/**
 * @module
 * The `doppel` command: picks the subcommand (src/commands/) and maps failures to exit codes:
 * 0 success, 1 a failure while running, 2 a usage error (unknown command or flag, bad value).
 */
import { commands } from './commands/index.ts';
import { nearestName } from './config.ts';
import { isDoppelError } from './errors.ts';
import { loadRuntime } from './runtime/index.ts';

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length)) + 2;
  return [
    'Usage: doppel <command> [flags]', '',
    'Commands:', ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)} ${c.summary}`), '',
    'doppel <command> --help shows the flags of one command; doppel --version prints the version.',
  ].join('\n');
}

/** A file that cannot be read or written (Node's ENOENT, EACCES, EISDIR… naming a path) in plain words, without a stack. */
function fileFailure(err: unknown): string | undefined {
  const { code, path, syscall, message } = (err ?? {}) as { code?: unknown; path?: unknown; syscall?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof path !== 'string' || typeof message !== 'string') return undefined;
  const reason = message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, ''); // "ENOENT: no such file or directory, open '/x'"
  return `cannot ${typeof syscall === 'string' ? syscall : 'open'} ${path}: ${reason}`;
}

async function main(): Promise<void> {
  const runtime = await loadRuntime();
  const [first, ...rest] = runtime.args;
  const name = first === '--version' || first === '-v' ? 'version' : first;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    runtime.writeStdout(overview());
    return;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    const near = nearestName(name, Object.keys(commands));
    runtime.writeStderr(`Unknown command "${name}"${near === undefined ? '' : ` (did you mean ${near}?)`}: try doppel --help`);
    return runtime.exit(2);
  }
  if (rest.includes('--help') || rest.includes('-h')) { runtime.writeStdout(command.usage()); return; }
  let code: number;
  try {
    code = await command.run(rest, runtime);
  } catch (err) {
    // Usage errors (bad flags and values) are invalid_request; anything else failed while running.
    const usage = isDoppelError(err) && err.code === 'invalid_request';
    const file = fileFailure(err);
    runtime.writeStderr(isDoppelError(err) ? err.message : `doppel ${name}: ${file ?? (err instanceof Error ? err.stack ?? err.message : String(err))}`);
    return runtime.exit(usage ? 2 : 1);
  }
  runtime.exit(code);
}

main().catch((err: unknown) => {
  console.error(`doppel: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  // Node and Deno 2 both expose `process`; setting exitCode lets pending output flush.
  (globalThis as { process?: { exitCode?: number } }).process!.exitCode = 1;
});
