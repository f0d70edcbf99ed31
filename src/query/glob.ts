const STAR = 0x2a; // '*'
const QUESTION = 0x3f; // '?'

/** How many code units the character at `i` spans: 2 for a surrogate pair, else 1. */
function charWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * Iterative wildcard matching that remembers only the last `*`: O(pattern × value) at worst, so
 * a hostile filter cannot trigger the exponential backtracking a translated RegExp could.
 * `?` and a `*` retry step over whole characters, so an emoji counts as one character.
 */
function matchGlob(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    if (p < pattern.length) {
      const c = pattern.charCodeAt(p);
      if (c === STAR) {
        starP = p++;
        starV = v;
        continue;
      }
      if (c === QUESTION) {
        p++;
        v += charWidth(value, v);
        continue;
      }
      if (c === value.charCodeAt(v)) {
        p++;
        v++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP + 1;
    starV += charWidth(value, starV);
    v = starV;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/**
 * Compiles a glob (`*` any run, `?` one character, everything else literal, anchored at both
 * ends) into a matcher. The common shapes (`exact`, `prefix*`, `*suffix`) skip the general loop.
 */
export function compileGlob(pattern: string): (value: string) => boolean {
  const hasQuestion = pattern.includes('?');
  const firstStar = pattern.indexOf('*');
  if (!hasQuestion) {
    if (firstStar < 0) return (value) => value === pattern;
    const lastStar = pattern.lastIndexOf('*');
    if (firstStar === pattern.length - 1) {
      const prefix = pattern.slice(0, -1);
      return (value) => value.startsWith(prefix);
    }
    if (lastStar === 0) {
      const suffix = pattern.slice(1);
      return (value) => value.endsWith(suffix);
    }
  }
  return (value) => matchGlob(pattern, value);
}
