/**
 * @module
 * The `doppel` commands by name. Server-side commands run against a data directory; client
 * commands (`client.ts`) talk to a running server over its HTTP API.
 */
import { backupCommand, restoreCommand } from './backup.ts';
import { clientCommands } from './client.ts';
import { configCommand } from './config.ts';
import { connectorsCommand } from './connectors.ts';
import { exportCommand, importCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import type { Command } from './types.ts';
import { versionCommand } from './version.ts';

export type { Command } from './types.ts';

export const commands: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  config: configCommand,
  backup: backupCommand,
  restore: restoreCommand,
  export: exportCommand,
  import: importCommand,
  ...clientCommands,
  connectors: connectorsCommand,
  version: versionCommand,
};
