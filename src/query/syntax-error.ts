import { fail } from '../errors.ts';
import type { DoppelError } from '../errors.ts';

/**
 * The one shape every filter error takes, so clients can rely on it:
 * `Cannot parse filter at <position>: <reason>` with `details.position`.
 * `offset` is 0-based (string index); the reported position is 1-based, the column a person counts.
 */
export function syntaxError(offset: number, reason: string): DoppelError {
  const position = offset + 1;
  return fail('invalid_request', `Cannot parse filter at ${position}: ${reason}`, { position });
}
