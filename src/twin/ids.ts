import { fail } from '../errors.ts';

export const MAX_TWIN_ID_LENGTH = 128;

// No `m` flag, so `$` matches only at the very end (a trailing newline is refused).
const TWIN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * True for a valid twin id (CONTRACT §1): 1–128 characters of `A-Z a-z 0-9 . _ : -`, starting
 * with a letter or digit.
 *
 * @example
 * isTwinId('thermo-42'); // true
 * isTwinId('-x');        // false
 */
export function isTwinId(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_TWIN_ID_LENGTH && TWIN_ID.test(s);
}

/**
 * Returns `s` if it is a valid twin id, else throws `invalid_request` saying why.
 *
 * @example
 * assertTwinId('a b'); // throws: Invalid twin id "a b": only A-Z a-z 0-9 . _ : - are allowed
 */
export function assertTwinId(s: unknown): string {
  if (isTwinId(s)) return s;
  if (typeof s !== 'string') throw fail('invalid_request', `Invalid twin id: expected a string, got ${s === null ? 'null' : typeof s}`);
  // Quote through JSON so control characters stay visible; clip so a huge id cannot bloat a reply.
  const shown = JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
  if (s.length === 0) throw fail('invalid_request', 'Invalid twin id "": must not be empty');
  if (s.length > MAX_TWIN_ID_LENGTH) {
    throw fail('invalid_request', `Invalid twin id ${shown}: longer than ${MAX_TWIN_ID_LENGTH} characters`);
  }
  if (!/^[A-Za-z0-9]/.test(s)) throw fail('invalid_request', `Invalid twin id ${shown}: must start with a letter or digit`);
  throw fail('invalid_request', `Invalid twin id ${shown}: only A-Z a-z 0-9 . _ : - are allowed`);
}
