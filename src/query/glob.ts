const QUESTION = 0x3f; // '?'

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** How many code units the character at `i` spans: 2 for a surrogate pair, else 1. */
function charWidth(s: string, i: number): number {
  return isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
}

/**
 * Can a `*` that starts at `from` stop at `at`? A `*` takes whole characters, so it never stops
 * between the two halves of a surrogate pair (walking from `from`, the only positions skipped are
 * those low halves; `from` itself always counts).
 */
function starCanStopAt(value: string, from: number, at: number): boolean {
  return at === from || !(isLow(value.charCodeAt(at)) && isHigh(value.charCodeAt(at - 1)));
}

/**
 * The run of pattern between two `*`s. `?` takes one whole character of the value, which is one
 * or two code units, so a segment with `?` has no fixed length; one without is a plain string.
 */
interface Segment {
  text: string;
  /** Index of the first `?`, or -1. */
  question: number;
  /** The literal run before the first `?` (all of `text` when there is none). */
  head: string;
  /** Fewest code units it can match: one per pattern unit. */
  min: number;
  /** Most code units it can match: two per `?`. */
  max: number;
}

function segment(text: string): Segment {
  const question = text.indexOf('?');
  let questions = 0;
  for (let i = question; i >= 0; i = text.indexOf('?', i + 1)) questions++;
  return { text, question, head: question < 0 ? text : text.slice(0, question), min: text.length, max: text.length + questions };
}

/** Where `seg` ends when matched at `at`, or -1 when it does not match there. */
function matchAt(seg: Segment, value: string, at: number): number {
  if (seg.question < 0) return value.startsWith(seg.text, at) ? at + seg.text.length : -1;
  const { text } = seg;
  let v = at;
  for (let p = 0; p < text.length; p++) {
    if (v >= value.length) return -1;
    const c = text.charCodeAt(p);
    if (c === QUESTION) v += charWidth(value, v);
    else if (c === value.charCodeAt(v)) v++;
    else return -1;
  }
  return v;
}

/**
 * The end of the leftmost match of `seg` at or after `from` that a `*` starting at `from` can
 * reach, or -1. Candidates come from `indexOf` of the segment's literal head, so a segment
 * without `?` costs one native search, and one with `?` is only tried where its head occurs.
 */
function findFrom(seg: Segment, value: string, from: number): number {
  for (let at = from; at <= value.length - seg.min; at++) {
    if (seg.head !== '') {
      at = value.indexOf(seg.head, at);
      if (at < 0) return -1;
    }
    if (!starCanStopAt(value, from, at)) continue;
    // indexOf found a segment without `?` whole; one with `?` still has the rest to match.
    const end = seg.question < 0 ? at + seg.min : matchAt(seg, value, at);
    if (end >= 0) return end;
  }
  return -1;
}

/**
 * Segment-wise wildcard matching. The pattern is `first*s1*…*sn*last`: `first` is anchored at the
 * start, `last` at the end, and each middle segment is matched at its leftmost place after the
 * previous one. Leftmost is always safe — a segment matched earlier ends no later, which leaves
 * the rest every chance a later match would — so nothing is ever retried: the cost is a native
 * `indexOf` per segment in the usual case and O(value × segment length) at worst, where the
 * parser caps a pattern at 256 characters. `?` and what a `*` absorbs are whole characters, so
 * an emoji counts as one character.
 */
function segmentMatcher(pattern: string): (value: string) => boolean {
  const parts = pattern.split('*').map(segment);
  const first = parts[0]!;
  if (parts.length === 1) return (value) => matchAt(first, value, 0) === value.length;
  const middle = parts.slice(1, -1).filter((seg) => seg.text !== '');
  const last = parts[parts.length - 1]!;
  return (value) => {
    let v = matchAt(first, value, 0);
    if (v < 0) return false;
    for (let i = 0; i < middle.length; i++) {
      v = findFrom(middle[i]!, value, v);
      if (v < 0) return false;
    }
    // The last segment must end exactly at the end, so it starts within max − min of one place.
    for (let at = Math.max(v, value.length - last.max); at <= value.length - last.min; at++) {
      if (starCanStopAt(value, v, at) && matchAt(last, value, at) === value.length) return true;
    }
    return false;
  };
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
  return segmentMatcher(pattern);
}
