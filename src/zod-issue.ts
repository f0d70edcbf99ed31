/**
 * @module
 * zod's issues in words for people: `Unknown key "desird" in twin`, `Invalid "limit" in query: must
 * be at most 1000`, instead of zod's own `Unrecognized key: "desird"` or `Too big: expected number
 * to be <=1000`. One place for the CLI's configuration errors, HTTP problem details and WebSocket
 * error messages. Sentence case; names and values quoted; the detail after a colon.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Readonly<Record<string, string>> = {
  record: 'an object', object: 'an object', array: 'an array', string: 'a string', number: 'a number',
  int: 'a whole number', boolean: 'true or false', bigint: 'a whole number', null: 'null',
};

/** The JSON-ish type of a value, as people say it ("a string", "an array", "null"). */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'not a number' : Number.isInteger(value) ? 'a whole number' : 'a fraction';
  return TYPE_NAMES[typeof value] ?? typeof value;
}

/** The value at `path` inside `root`, if it is there. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function sizeRule(issue: Issue & { code: 'too_big' | 'too_small' }): string {
  const big = issue.code === 'too_big';
  const limit = Number(big ? issue.maximum : issue.minimum);
  if (issue.origin === 'string' && !big && limit === 1) return 'must not be empty';
  const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' || issue.origin === 'set' ? ' items' : '';
  const bound = issue.inclusive === false ? (big ? 'less than' : 'more than') : (big ? 'at most' : 'at least');
  return `must be ${bound} ${limit}${unit}`;
}

/** What is wrong, after the colon (lower case: it continues the sentence). */
function detail(issue: Issue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return `expected ${expected}, got ${typeOf(valueAt(input, issue.path))}`;
    }
    case 'too_big':
    case 'too_small': return sizeRule(issue);
    case 'invalid_value': return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default: return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/**
 * One issue as a sentence about `subject` ("twin", "query", "configuration"). `input` is the value
 * that was parsed (it names the type received); `name` may rename the path (e.g. to a flag).
 *
 * @example
 * describeIssue({ code: 'unrecognized_keys', keys: ['desird'], path: [], message: '' }, 'twin') // 'Unknown key "desird" in twin'
 */
export function describeIssue(issue: Issue, subject: string, input?: unknown, name?: string): string {
  const path = name ?? (issue.path.length > 0 ? `"${issue.path.map(String).join('.')}"` : '');
  const where = path === '' ? subject : `${path} of ${subject}`;
  if (issue.code === 'unrecognized_keys') {
    return `Unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} in ${where}`;
  }
  if (issue.code === 'invalid_type' && path !== '' && valueAt(input, issue.path) === undefined && input !== undefined) {
    return `Missing ${path} in ${subject}`;
  }
  return `Invalid ${path === '' ? subject : `${path} in ${subject}`}: ${detail(issue, input)}`;
}
