/**
 * Twin versions in HTTP headers: `ETag: "17"`, `If-Match: "17"` (optimistic concurrency),
 * `If-None-Match: "17"` (conditional GET).
 */
import { DoppelError } from '../../src/errors.ts';

export const etag = (version: number): string => `"${version}"`;

/**
 * The expected version from `If-Match`; undefined when absent or `*`. RFC 9110 §13.1.1: If-Match
 * uses strong comparison, so a weak tag never matches (version 0 exists on no twin).
 */
export function ifMatchVersion(header: string | null): number | undefined {
  if (header === null || header.trim() === '*') return undefined;
  // Quoted as RFC 9110 has it, or bare digits (a common shell shortcut); never half-quoted.
  const m = /^\s*(W\/)?(?:"(\d{1,15})"|(\d{1,15}))\s*$/.exec(header);
  if (m === null) throw new DoppelError('invalid_request', `Invalid If-Match "${header}": expected a twin version like "17"`);
  const digits = m[2] ?? m[3]!;
  // Entity tags compare as text: "01" is not our tag "1", so it matches nothing (version 0 exists
  // on no twin), exactly like a weak tag.
  if (m[1] !== undefined || digits !== String(Number(digits))) return 0;
  return Number(digits);
}

/** True when `If-None-Match` names `version` (or is `*`). */
export function noneMatchHits(header: string | null, version: number): boolean {
  if (header === null) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag(version);
  });
}
