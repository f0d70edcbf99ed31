/**
 * Error → `application/problem+json` (RFC 9457) with our stable `code` added, so clients branch on
 * `code` and humans read `title`/`detail`.
 */
import { ERROR_CODES, toDoppelError } from '../../src/errors.ts';
import type { DoppelError } from '../../src/errors.ts';

export const PROBLEM_TYPE = 'application/problem+json';

export function problemResponse(err: unknown, instance?: string): { response: Response; error: DoppelError } {
  const error = toDoppelError(err);
  const spec = ERROR_CODES[error.code];
  const body: Record<string, unknown> = {
    type: `urn:doppel:problem:${error.code}`,
    title: spec.title,
    status: spec.http,
    detail: error.public ? error.message : 'Internal error',
    code: error.code,
  };
  if (instance !== undefined) body.instance = instance;
  if (error.public && error.details !== undefined) Object.assign(body, { details: error.details });
  const headers: Record<string, string> = { 'content-type': PROBLEM_TYPE };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="doppel"';
  // A body refused for its size was not read to the end: the connection cannot carry another request.
  if (error.code === 'too_large' && error.details?.section === 'body') headers.connection = 'close';
  return { response: new Response(JSON.stringify(body), { status: spec.http, headers }), error };
}
