/**
 * Commands that talk to a running server over HTTP (`doppel twins …`, `doppel token …`,
 * `doppel keys …`).
 */
import type { Command } from './types.ts';

export const clientCommands: Readonly<Record<string, Command>> = {};
