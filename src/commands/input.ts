/**
 * Request bodies from a file or stdin (`--file F`, `--file -` or a lone `-`). Stdin is read
 * through the `process` object that Node and Deno 2 both provide: the Runtime seam has no stdin,
 * and reading /dev/stdin as a file would need Deno's --allow-all.
 */
import type { Runtime } from '../runtime/types.ts';
import { isJsonObject, parseJson, stringFlag, usageError } from './args.ts';
import type { Flags } from './args.ts';

interface Stdin { setEncoding(encoding: 'utf8'): void; [Symbol.asyncIterator](): AsyncIterator<string> }

async function readStdin(): Promise<string> {
  const stdin = (globalThis as unknown as { process: { stdin: Stdin } }).process.stdin;
  stdin.setEncoding('utf8');
  let text = '';
  for await (const chunk of stdin as AsyncIterable<string>) text += chunk;
  return text;
}

/** The JSON object of --file (or of stdin for `-`), or undefined when neither was given. */
export async function readBodyInput(flags: Flags, positional: string | undefined, runtime: Runtime, context: string): Promise<Record<string, unknown> | undefined> {
  if (positional !== undefined && positional !== '-') throw usageError(context, `unexpected argument "${positional}" (a body from stdin is "-")`);
  const flag = stringFlag(flags, 'file');
  if (flag !== undefined && positional !== undefined) throw usageError(context, 'give the body either with --file or as "-", not both');
  const file = flag ?? positional;
  if (file === undefined) return undefined;
  const what = file === '-' ? 'the body on stdin' : `--file ${file}`;
  let text: string | undefined;
  try {
    text = file === '-' ? await readStdin() : await runtime.readTextFile(file);
  } catch (err) {
    throw usageError(context, `cannot read ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (text === undefined) throw usageError(context, `${what} does not exist`);
  const value = parseJson(text, what, context);
  if (!isJsonObject(value)) throw usageError(context, `${what} must be a JSON object like {"desired":{…},"tags":{…}}`);
  return value;
}
