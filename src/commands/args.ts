/**
 * Flag parsing for the client commands: `--name value`, `--name=value` and boolean `--name`,
 * positionals in between, `--` ends the flags and `-` is a positional (stdin). Every mistake is a
 * usage error (`invalid_request`, which src/cli.ts turns into exit code 2) naming the flag.
 *
 * Tokenising is node:util's parseArgs (Node 20 and Deno 2 alike), run non-strict so that the
 * checks and their wording are ours: the same on both runtimes, and `--token --json` reads as a
 * forgotten value rather than a token called "--json". (`doppel serve` keeps its own loop in
 * src/config.ts: its `--sync` takes an optional value, which parseArgs cannot express.)
 */
import { parseArgs as tokenize } from 'node:util';
import { z } from 'zod';
import { DoppelError } from '../errors.ts';

/** A flag takes a value (`string`) or is a switch (`boolean`). */
export type FlagSpec = Readonly<Record<string, 'string' | 'boolean'>>;
export type Flags = Readonly<Record<string, string | true | undefined>>;

export interface ParsedArgs {
  positionals: string[];
  flags: Flags;
}

/** A usage error: src/cli.ts prints the message and exits 2. */
export function usageError(context: string, message: string): DoppelError {
  return new DoppelError('invalid_request', `doppel ${context}: ${message} (see doppel ${context.split(' ')[0]} --help)`);
}

export function parseArgs(args: readonly string[], spec: FlagSpec, context: string): ParsedArgs {
  const options = Object.fromEntries(Object.entries(spec).map(([name, type]) => [name, { type }]));
  const { tokens } = tokenize({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  for (const token of tokens) {
    if (token.kind === 'positional') { positionals.push(token.value); continue; }
    if (token.kind === 'option-terminator') continue;
    const kind = token.rawName.startsWith('--') && Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (kind === undefined) throw usageError(context, `unknown flag ${token.rawName}`);
    if (kind === 'boolean') {
      if (token.value !== undefined) throw usageError(context, `--${token.name} takes no value`);
      flags[token.name] = true;
      continue;
    }
    // `--token --json` is a forgotten value, not a token called "--json"; `--prefix=--x` still works.
    const forgotten = token.value === undefined || (!token.inlineValue && token.value.startsWith('--'));
    if (forgotten) throw usageError(context, `--${token.name} needs a value`);
    flags[token.name] = token.value;
  }
  return { positionals, flags };
}

/** A string flag, or undefined when absent. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

const Digits = z.string().regex(/^\d{1,15}$/).transform(Number);

/** An integer flag within [min, max], or undefined when absent. */
export function intFlag(flags: Flags, name: string, context: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const parsed = Digits.pipe(z.number().min(min).max(max)).safeParse(raw);
  if (!parsed.success) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw usageError(context, `--${name} must be an integer ${range}, got "${raw}"`);
  }
  return parsed.data;
}

/** Parses JSON given on the command line or in a file; `what` names its origin in the error. */
export function parseJson(text: string, what: string, context: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(context, `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const JsonObject = z.record(z.string(), z.unknown());

/** A JSON object (or null, which clears a section in a merge patch) from a flag like --desired. */
export function jsonObjectFlag(flags: Flags, name: string, context: string): Record<string, unknown> | null | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const value = parseJson(raw, `--${name}`, context);
  if (value === null) return null;
  // Checked by hand rather than parsed: zod's record parser would drop a `__proto__` key, and
  // the server, not the CLI, should refuse it (as invalid_document).
  if (!JsonObject.safeParse(value).success) throw usageError(context, `--${name} must be a JSON object, e.g. '{"temp":21}'`);
  return value as Record<string, unknown>;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return JsonObject.safeParse(value).success;
}
