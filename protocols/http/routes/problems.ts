/** OpenAPI response entries for error statuses, all answered as problem+json. */
import type { ResponseSpec } from '../route.ts';
import { Problem } from '../schemas.ts';

const DESCRIPTIONS: Record<number, string> = {
  400: 'invalid_request or invalid_document',
  401: 'unauthorized: missing or unknown credential',
  403: 'forbidden: credential not valid for this twin or scope',
  404: 'not_found',
  409: 'already_exists',
  412: 'version_conflict: If-Match differs from the current version',
  413: 'too_large or too_deep',
  415: 'unsupported_format: send JSON',
  429: 'rate_limited: see Retry-After',
  503: 'unavailable: shutting down or storage failure',
};

export function problems(...statuses: number[]): Record<number, ResponseSpec> {
  const out: Record<number, ResponseSpec> = {};
  for (const s of [...statuses, 503]) out[s] = { description: DESCRIPTIONS[s] ?? 'error', schema: Problem, contentType: 'application/problem+json' };
  return out;
}
