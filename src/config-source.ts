/**
 * The effective configuration of a command: defaults < config file (`--config` or
 * `DOPPEL_CONFIG`) < environment < flags. The only part of configuration that does I/O.
 */
import { configFileArg, loadConfig, parseConfigFile } from './config.ts';
import type { Config } from './config.ts';
import { DoppelError } from './errors.ts';
import type { Runtime } from './runtime/types.ts';

export async function resolveConfig(argv: readonly string[], runtime: Runtime): Promise<Config> {
  const { path, rest } = configFileArg(argv, runtime.env);
  if (path === undefined) return loadConfig(rest, runtime.env);
  const text = await runtime.readTextFile(path);
  if (text === undefined) throw new DoppelError('invalid_request', `Config file ${path} does not exist`);
  return loadConfig(rest, runtime.env, parseConfigFile(path, text));
}
