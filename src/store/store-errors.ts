/**
 * @module
 * The errors a store raises, shared by its parts: every storage failure reaches callers as
 * `unavailable`, with the underlying reason spelled out.
 */
import { fail } from '../errors.ts';
import type { DoppelError } from '../errors.ts';

export function closedError(): DoppelError {
  return fail('unavailable', 'Store is closed');
}

/** The message of `err` and of its causes: level wraps the useful part ("IO error: lock …"). */
export function reasonOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 4; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
