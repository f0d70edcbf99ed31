/**
 * @module
 * Filter expressions for `GET /v1/twins?filter=…` (CONTRACT §5): a small boolean language over
 * the paths of the public twin JSON, compiled once and evaluated against many twins.
 *
 * ## Syntax
 *
 * ```
 * expr     := orExpr
 * orExpr   := andExpr ('or' andExpr)*
 * andExpr  := notExpr ('and' notExpr)*
 * notExpr  := 'not' notExpr | primary
 * primary  := '(' expr ')' | 'exists' '(' path ')' | path op literal
 * op       := '==' | '!=' | '<' | '<=' | '>' | '>=' | '~'
 * path     := segment ('.' segment)*
 * segment  := [A-Za-z_][A-Za-z0-9_-]*  |  "double-quoted string"   (for keys with other characters)
 * literal  := number (JSON syntax) | string (double-quoted, JSON escapes) | true | false | null
 * ```
 *
 * - Whitespace (space, tab, CR, LF) between tokens is insignificant.
 * - Keywords `and or not exists true false null` are lowercase and case-sensitive.
 * - `not` binds tightest, then `and`, then `or`: `a or b and not c` is `a or (b and (not c))`.
 * - A path starts with a top-level field of the twin: `id`, `version`, `desired`, `reported`,
 *   `delta`, `tags`, `metadata`, `sync`, `connection`, `createdAt`, `updatedAt`. Later segments
 *   may be any key, quoted when it is not a plain name: `tags."site name"`, `reported.not`.
 *
 * ## Meaning
 *
 * - A path resolves by walking plain objects, own keys only; arrays are not indexed, so a path
 *   through an array or a scalar resolves to nothing ("missing").
 * - `exists(p)` is true when `p` resolves to a value; `null` counts as existing.
 * - `==` and `!=` compare with JSON deep equality against the literal; since literals are scalars,
 *   an object or array is never equal to one. A missing path makes `==` false and `!=` true.
 * - `<`, `<=`, `>`, `>=` compare two numbers numerically or two strings by UTF-16 code units.
 *   Any other combination (a missing path, a number against a string, `true < false`) is false.
 * - `~` matches a string value against a glob: `*` matches any run of characters (including
 *   none), `?` exactly one character, everything else itself (`.` is a dot); the whole value must
 *   match. A value that is not a string does not match. The pattern must be a string literal of
 *   at most 256 characters (UTF-16 code units, after escapes).
 * - `not` negates. Evaluation never throws.
 *
 * ## Errors
 *
 * A malformed filter is `invalid_request` with the message
 * `Cannot parse filter at <position>: <reason>` and `details.position`. Positions are 1-based
 * character (UTF-16 code unit) columns; an error at the end of the input points one past the last
 * character. Filters longer than 2048 characters, or nesting parentheses and `not` deeper than 32,
 * are refused the same way.
 *
 * @example
 * ```ts
 * const filter = parseFilter('tags.site == "berlin" and sync.inSync == false');
 * const pending = twins.filter((twin) => filter.test(twin));
 * ```
 */

import { compile } from './evaluate.ts';
import { parse } from './parser.ts';

export { FILTER_FIELDS, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_GLOB_LENGTH } from './parser.ts';

/** A compiled filter expression. */
export interface Filter {
  /** The expression as written. */
  readonly source: string;
  /**
   * True when the twin (its public JSON form) satisfies the filter. Never throws. Typed `object`
   * so both `PublicTwin` (an interface) and parsed JSON are accepted without a cast.
   */
  test(twin: object): boolean;
}

/**
 * Compiles a filter expression once, for cheap evaluation against many twins.
 * Throws `invalid_request` (`Cannot parse filter at 12: expected a value`) when malformed.
 *
 * @example
 * ```ts
 * const hot = parseFilter('reported.temp > 30');
 * hot.test({ id: 'thermo-42', reported: { temp: 31 } }); // true
 * parseFilter('id ~ "thermo-*"').test({ id: 'thermo-42' }); // true
 * ```
 */
export function parseFilter(source: string): Filter {
  const predicate = compile(parse(source));
  return Object.freeze({ source, test: predicate });
}
