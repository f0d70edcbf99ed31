/**
 * The command that starts the Doppel server on a runtime, read from package.json's `start` and
 * `start:deno` scripts: the tests and the benchmarks run exactly what the README tells users to run.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type ServerRuntime = 'node' | 'deno';

/** The project root (the nearest package.json above this file, in source or in dist/). */
export const projectRoot: string = (() => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error('package.json not found above bench/');
    dir = dirname(dir);
  }
  return dir;
})();

/** Program and arguments (relative to the project root) ending in `serve`; append flags. */
export function serverCommand(runtime: ServerRuntime): { file: string; args: string[] } {
  const scripts = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [program, ...args] = scripts[runtime === 'deno' ? 'start:deno' : 'start']!.split(/\s+/);
  return { file: program === 'node' ? process.execPath : denoExecutable(), args };
}

/** The `doppel` CLI itself on `runtime` (the server command without its `serve`): append a command. */
export function cliCommand(runtime: ServerRuntime): { file: string; args: string[] } {
  const { file, args } = serverCommand(runtime);
  return { file, args: args.at(-1) === 'serve' ? args.slice(0, -1) : args };
}

/**
 * The `deno` to run: the npm package's binary when it is installed in node_modules (as `.ci/run`
 * does with `npm install --no-save deno@2.9.5`), else `deno` from PATH. When npm skipped the
 * package's install script, `.bin/deno` is a Node shim that runs the binary with spawnSync and does
 * not pass signals on, so SIGTERM and SIGKILL would hit the shim and orphan the server: ask the
 * package for the binary instead.
 */
function denoExecutable(): string {
  const link = join(projectRoot, 'node_modules', '.bin', 'deno');
  if (!existsSync(link)) return 'deno';
  const bin = realpathSync(link);
  if (!bin.endsWith('.cjs')) return bin;
  const install = createRequire(import.meta.url)(join(projectRoot, 'node_modules', 'deno', 'install_api.cjs')) as { runInstall(): string };
  return install.runInstall();
}
