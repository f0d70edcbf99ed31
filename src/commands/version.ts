/**
 * `doppel version` (also `doppel --version` and `-v`): prints the package version. Read from the
 * package.json above this module, one level up in source (src/commands/) or two in dist/, so the
 * version has one home and the command works on Node and Deno alike.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Runtime } from '../runtime/types.ts';
import type { Command } from './types.ts';

const PackageJson = z.object({ name: z.literal('doppel'), version: z.string() });

export async function packageVersion(runtime: Runtime): Promise<string> {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const text = await runtime.readTextFile(fileURLToPath(new URL(relative, import.meta.url)));
    const parsed = text === undefined ? undefined : PackageJson.safeParse(JSON.parse(text));
    if (parsed?.success === true) return parsed.data.version;
  }
  throw new Error('package.json of doppel not found next to the program');
}

export const versionCommand: Command = {
  summary: 'Print the version of doppel (also doppel --version, -v)',
  usage: () => 'Usage: doppel version\n\nPrints the version of doppel, e.g. 0.1.0. Same as doppel --version and doppel -v.',
  async run(_args, runtime) {
    runtime.writeStdout(await packageVersion(runtime));
    return 0;
  },
};
