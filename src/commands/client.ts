/**
 * Commands that talk to a running server over HTTP (`doppel twins …`, `doppel token …`,
 * `doppel keys …`). Each is a group of actions (group.ts) over one HTTP client (http-client.ts).
 */
import { commandsCommand } from './device-commands.ts';
import { jobsCommand } from './jobs.ts';
import { keysCommand } from './keys.ts';
import { tokenCommand } from './token.ts';
import { twinsCommand } from './twins.ts';
import type { Command } from './types.ts';

export const clientCommands: Readonly<Record<string, Command>> = {
  twins: twinsCommand,
  token: tokenCommand,
  keys: keysCommand,
  commands: commandsCommand,
  jobs: jobsCommand,
};
