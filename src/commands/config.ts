/**
 * `doppel config print [flags]`: the effective configuration, from defaults, the config file, the
 * environment and the flags exactly as `doppel serve` would see them, with secrets masked.
 */
import { maskConfig } from '../config.ts';
import { resolveConfig } from '../config-source.ts';
import { DoppelError } from '../errors.ts';
import type { Command } from './types.ts';

export const configCommand: Command = {
  summary: 'Print the effective configuration (secrets masked): doppel config print [serve flags]',
  usage: () => [
    'Usage: doppel config print [--config <file>] [serve flags]',
    '',
    'Prints the configuration doppel serve would run with, as JSON (secrets shown as "***"):',
    'defaults, then the config file (--config or DOPPEL_CONFIG), then DOPPEL_* variables, then flags.',
    'The output is itself a valid config file. Exits 2 when a setting is invalid.',
  ].join('\n'),
  async run(args, runtime) {
    const [sub, ...rest] = args;
    if (sub !== 'print') throw new DoppelError('invalid_request', sub === undefined ? 'doppel config: missing action: try doppel config print' : `Unknown subcommand "config ${sub}": try doppel config print`);
    runtime.writeStdout(JSON.stringify(maskConfig(await resolveConfig(rest, runtime)), null, 2));
    return 0;
  },
};
