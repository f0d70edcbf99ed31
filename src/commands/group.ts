/**
 * A client command made of actions (`doppel twins list`, `doppel keys create`): picks the action,
 * parses its flags plus the common ones (--url, --token, --data, --json), checks positionals, and
 * reports a failed call as one line on stderr with exit code 1. Usage errors are thrown on to
 * src/cli.ts, which exits 2, before any request is sent.
 */
import type { Runtime } from '../runtime/types.ts';
import { parseArgs, usageError } from './args.ts';
import type { FlagSpec, Flags } from './args.ts';
import { ApiClient, CONNECTION_FLAGS, DEFAULT_URL, isClientFailure, resolveToken, resolveUrl } from './http-client.ts';
import { Output } from './output.ts';
import type { Command } from './types.ts';

const COMMON_FLAGS: FlagSpec = { ...CONNECTION_FLAGS, json: 'boolean' };

export interface ActionContext {
  runtime: Runtime;
  flags: Flags;
  /** Positionals by the names the action declared; optional ones may be missing. */
  args: Readonly<Record<string, string | undefined>>;
  out: Output;
  api: ApiClient;
  /** `twins patch`, for messages. */
  context: string;
}

export interface Action {
  /** Arguments and flags as shown in the usage text, e.g. `<id> [--fields a,b]`. */
  synopsis: string;
  summary: string;
  flags?: FlagSpec;
  /** Required positionals, in order. */
  positionals?: readonly string[];
  /** Optional positionals after the required ones. */
  optional?: readonly string[];
  run(ctx: ActionContext): Promise<void>;
}

export function commandGroup(name: string, summary: string, actions: Readonly<Record<string, Action>>): Command {
  const usage = () => [
    `Usage: doppel ${name} <action> [flags]`, '', summary, '', 'Actions:',
    ...Object.entries(actions).flatMap(([action, a]) => [`  ${name} ${action} ${a.synopsis}`.trimEnd(), `      ${a.summary}`]),
    '', 'Common flags:',
    `  --url URL     the server (env DOPPEL_URL, default ${DEFAULT_URL})`,
    '  --token T     bearer token (env DOPPEL_TOKEN, then DOPPEL_ADMIN_TOKEN, then <data>/admin-token)',
    '  --data DIR    data directory holding the admin-token file (env DOPPEL_DATA, default ./data)',
    '  --json        print the JSON reply of the API (one document) instead of tables and messages',
    '', 'Exit codes: 0 done, 1 the server refused or could not be reached, 2 usage error.',
  ].join('\n');

  return {
    summary,
    usage,
    async run(argv, runtime) {
      // Common flags may come before the action (`doppel twins --url U list`), as in most CLIs.
      let at = 0;
      while (at < argv.length && argv[at]!.startsWith('--') && argv[at] !== '--') {
        const [flag, value] = argv[at]!.split(/=(.*)/s);
        const kind = Object.hasOwn(COMMON_FLAGS, flag!.slice(2)) ? COMMON_FLAGS[flag!.slice(2)] : undefined;
        if (kind === undefined) throw usageError(name, `${flag} goes after the action: doppel ${name} <action> ${flag} …`);
        at += kind === 'string' && value === undefined ? 2 : 1;
      }
      const actionName = argv[at];
      const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
      const list = Object.keys(actions).join(', ');
      if (actionName === undefined) throw usageError(name, `missing action: one of ${list}`);
      const action = Object.hasOwn(actions, actionName) ? actions[actionName] : undefined;
      if (action === undefined) throw usageError(name, `unknown action "${actionName}": one of ${list}`);
      const context = `${name} ${actionName}`;
      const { positionals, flags } = parseArgs(rest, { ...COMMON_FLAGS, ...action.flags }, context);
      const required = action.positionals ?? [];
      const optional = action.optional ?? [];
      if (positionals.length < required.length) throw usageError(context, `missing <${required[positionals.length]}>`);
      if (positionals.length > required.length + optional.length) throw usageError(context, `unexpected argument "${positionals[required.length + optional.length]}"`);
      const args = Object.fromEntries([...required, ...optional].map((n, i) => [n, positionals[i]]));
      for (const n of required) if (args[n] === '') throw usageError(context, `<${n}> must not be empty`);
      const api = new ApiClient(resolveUrl(flags, runtime, context), () => resolveToken(flags, runtime, context));
      const out = new Output(runtime, flags.json === true);
      try {
        await action.run({ runtime, flags, args, out, api, context });
        return 0;
      } catch (err) {
        if (!isClientFailure(err)) throw err;
        runtime.writeStderr(`doppel: ${err.message}`);
        return 1;
      }
    },
  };
}
