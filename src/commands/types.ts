/** What every `doppel <command>` provides to the dispatcher in src/cli.ts. */
import type { Runtime } from '../runtime/types.ts';

export interface Command {
  /** One line for `doppel --help`. */
  readonly summary: string;
  /** The full text of `doppel <command> --help`. */
  usage(): string;
  /** Runs with the arguments after the command name; resolves to the exit code (never exits itself, except serve at shutdown). */
  run(args: readonly string[], runtime: Runtime): Promise<number>;
}
