import type { Literal, Node } from './ast.ts';
import { syntaxError } from './syntax-error.ts';
import { createLexer, describe } from './lexer.ts';
import type { Token } from './lexer.ts';

/** Longer filters are refused before parsing: they fit no URL a person would write. */
export const MAX_FILTER_LENGTH = 2048;
/**
 * Longest `~` pattern, in UTF-16 code units once its escapes are decoded. Matching costs up to
 * value length × pattern length, so this bound keeps a filter over 32 KiB values cheap.
 */
export const MAX_GLOB_LENGTH = 256;
/** Parentheses and `not` together may nest this deep; deeper is refused before it costs the stack. */
export const MAX_FILTER_DEPTH = 32;
/** The twin's top-level fields (CONTRACT §1): the only ways a path may start. */
export const FILTER_FIELDS: readonly string[] = [
  'id', 'version', 'desired', 'reported', 'delta', 'tags', 'metadata', 'sync', 'connection', 'createdAt', 'updatedAt',
];

const FIELD_SET = new Set(FILTER_FIELDS);
const KEYWORDS = new Set(['and', 'or', 'not', 'exists', 'true', 'false', 'null']);

function expected(what: string, token: Token): Error {
  return token.kind === 'end'
    ? syntaxError(token.offset, `unexpected end, expected ${what}`)
    : syntaxError(token.offset, `expected ${what}, found ${describe(token)}`);
}

function isWord(token: Token, text: string): boolean {
  return token.kind === 'word' && token.text === text;
}

/** Parses a filter into its syntax tree, or throws `invalid_request` naming the 1-based position. */
export function parse(source: string): Node {
  if (source.length > MAX_FILTER_LENGTH) {
    throw syntaxError(MAX_FILTER_LENGTH, `longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const lexer = createLexer(source);
  let token = lexer.next();
  let depth = 0;

  function advance(): Token {
    const consumed = token;
    token = lexer.next();
    return consumed;
  }

  // Read through a call: TypeScript would otherwise keep narrowing `token` across advance().
  function current(): Token {
    return token;
  }

  function enter(): void {
    if (++depth > MAX_FILTER_DEPTH) throw syntaxError(token.offset, `nested deeper than ${MAX_FILTER_DEPTH} levels`);
  }

  function parseOr(): Node {
    const operands = [parseAnd()];
    while (isWord(token, 'or')) {
      advance();
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0] as Node : { kind: 'or', operands };
  }

  function parseAnd(): Node {
    const operands = [parseNot()];
    while (isWord(token, 'and')) {
      advance();
      operands.push(parseNot());
    }
    return operands.length === 1 ? operands[0] as Node : { kind: 'and', operands };
  }

  function parseNot(): Node {
    if (!isWord(token, 'not')) return parsePrimary();
    enter();
    advance();
    const operand = parseNot();
    depth--;
    return { kind: 'not', operand };
  }

  // Each check looks at the current token before advancing, so a later lexical error never
  // hides the earlier grammatical one.
  function expect(kind: '(' | ')', what: string): void {
    if (token.kind !== kind) throw expected(what, token);
    advance();
  }

  function parsePrimary(): Node {
    if (token.kind === '(') {
      enter();
      advance();
      const inner = parseOr();
      expect(')', '"and", "or" or ")"');
      depth--;
      return inner;
    }
    if (isWord(token, 'exists')) {
      advance();
      expect('(', '"("');
      const path = parsePath();
      expect(')', '")"');
      return { kind: 'exists', path };
    }
    if (token.kind === 'word' && KEYWORDS.has(token.text)) throw expected('a condition', token);
    if (token.kind !== 'word' && token.kind !== 'string') throw expected('a condition', token);
    const path = parsePath();
    const op = current();
    if (op.kind !== 'op') throw expected('an operator', op);
    advance();
    if (op.text === '~') {
      const pattern = current();
      if (pattern.kind !== 'string') throw expected('a string pattern', pattern);
      if (pattern.value.length > MAX_GLOB_LENGTH) {
        throw syntaxError(pattern.offset, `glob pattern longer than ${MAX_GLOB_LENGTH} characters`);
      }
      advance();
      return { kind: 'glob', path, pattern: pattern.value };
    }
    return { kind: 'compare', path, op: op.text, value: parseLiteral() };
  }

  function parseSegment(what: string): { name: string; offset: number } {
    if (token.kind === 'word') return { name: token.text, offset: advance().offset };
    if (token.kind === 'string') return { name: token.value, offset: advance().offset };
    throw expected(what, token);
  }

  function parsePath(): string[] {
    const first = parseSegment('a field');
    if (!FIELD_SET.has(first.name)) {
      throw syntaxError(first.offset, `unknown field ${JSON.stringify(first.name)} (a path starts with one of ${FILTER_FIELDS.join(', ')})`);
    }
    const path = [first.name];
    while (token.kind === '.') {
      advance();
      path.push(parseSegment('a field name').name);
    }
    return path;
  }

  function parseLiteral(): Literal {
    const t = current();
    if (t.kind === 'string' || t.kind === 'number') {
      advance();
      return t.value;
    }
    if (t.kind === 'word') {
      if (t.text === 'true' || t.text === 'false' || t.text === 'null') {
        advance();
        return t.text === 'null' ? null : t.text === 'true';
      }
      throw syntaxError(t.offset, `expected a value, found ${describe(t)} (strings are double-quoted)`);
    }
    throw expected('a value', t);
  }

  const tree = parseOr();
  if (token.kind !== 'end') throw expected('"and", "or" or the end', token);
  return tree;
}
