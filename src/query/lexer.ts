import { syntaxError } from './syntax-error.ts';

export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '~';

/** Offsets are 0-based string indices; `errors.ts` turns them into 1-based positions. */
export type Token =
  | { readonly kind: 'word'; readonly text: string; readonly offset: number }
  | { readonly kind: 'string'; readonly value: string; readonly offset: number }
  | { readonly kind: 'number'; readonly value: number; readonly offset: number }
  | { readonly kind: 'op'; readonly text: Operator; readonly offset: number }
  | { readonly kind: '(' | ')' | '.'; readonly offset: number }
  | { readonly kind: 'end'; readonly offset: number };

export interface Lexer {
  /** Reads the next token; throws `invalid_request` on a character no token can start with. */
  next(): Token;
}

const WORD = /[A-Za-z_][A-Za-z0-9_-]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// Characters that glue onto a number (`01`, `1.`, `2x`) and make it one malformed token.
const NUMBER_RUN = /[A-Za-z0-9_.+-]*/y;
const HEX4 = /^[0-9A-Fa-f]{4}$/;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * A lazy lexer: tokens are produced as the parser asks, so the leftmost error in the source is the
 * one reported, whether it is lexical (an unterminated string) or grammatical (an unknown field).
 */
export function createLexer(source: string): Lexer {
  let i = 0;

  function match(re: RegExp, at: number): string | undefined {
    re.lastIndex = at;
    return re.exec(source)?.[0];
  }

  function readString(start: number): Token {
    let value = '';
    let j = start + 1;
    while (j < source.length) {
      const c = source[j] as string;
      if (c === '"') {
        i = j + 1;
        return { kind: 'string', value, offset: start };
      }
      if (c < ' ') throw syntaxError(j, `unescaped control character ${JSON.stringify(c)} in string`);
      if (c !== '\\') {
        value += c;
        j++;
        continue;
      }
      const e = source[j + 1];
      if (e === undefined) break;
      if (e === 'u') {
        const hex = source.slice(j + 2, j + 6);
        if (!HEX4.test(hex)) throw syntaxError(j, `invalid escape ${JSON.stringify(`\\u${hex}`)} in string`);
        value += String.fromCharCode(Number.parseInt(hex, 16));
        j += 6;
        continue;
      }
      const decoded = ESCAPES[e];
      if (decoded === undefined) throw syntaxError(j, `invalid escape ${JSON.stringify(`\\${e}`)} in string`);
      value += decoded;
      j += 2;
    }
    throw syntaxError(start, 'unterminated string');
  }

  function readNumber(start: number): Token {
    const text = match(NUMBER, start) ?? '';
    const glued = match(NUMBER_RUN, start + text.length) ?? '';
    if (text === '' || text === '-' || glued !== '') {
      throw syntaxError(start, `invalid number ${JSON.stringify(text + glued)}`);
    }
    const value = Number(text);
    if (!Number.isFinite(value)) throw syntaxError(start, `number ${JSON.stringify(text)} is out of range`);
    i = start + text.length;
    return { kind: 'number', value, offset: start };
  }

  function next(): Token {
    while (i < source.length && (source[i] === ' ' || source[i] === '\t' || source[i] === '\n' || source[i] === '\r')) i++;
    const start = i;
    const c = source[i];
    if (c === undefined) return { kind: 'end', offset: start };
    if (c === '(' || c === ')' || c === '.') {
      i++;
      return { kind: c, offset: start };
    }
    if (c === '"') return readString(start);
    if (c === '-' || (c >= '0' && c <= '9')) return readNumber(start);
    const word = match(WORD, start);
    if (word !== undefined) {
      i += word.length;
      return { kind: 'word', text: word, offset: start };
    }
    const two = source.slice(start, start + 2);
    if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
      i += 2;
      return { kind: 'op', text: two, offset: start };
    }
    if (c === '<' || c === '>' || c === '~') {
      i++;
      return { kind: 'op', text: c, offset: start };
    }
    if (c === '=') throw syntaxError(start, 'unexpected "=" (did you mean "=="?)');
    if (c === '!') throw syntaxError(start, 'unexpected "!" (did you mean "!=" or "not"?)');
    const char = String.fromCodePoint(source.codePointAt(start) ?? 0);
    throw syntaxError(start, `unexpected character ${JSON.stringify(char)}`);
  }

  return { next };
}

/** How a token reads in an error message: `"and"`, `"=="`, `a string`, `the end`. */
export function describe(token: Token): string {
  switch (token.kind) {
    case 'word': return JSON.stringify(token.text.length > 32 ? `${token.text.slice(0, 32)}…` : token.text);
    case 'op': return JSON.stringify(token.text);
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'end': return 'the end';
    default: return JSON.stringify(token.kind);
  }
}
