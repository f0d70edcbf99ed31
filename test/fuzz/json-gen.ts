/**
 * Hostile JSON text, generated as text (so it can hold what JSON.stringify never writes): numbers
 * out of double range, duplicate keys, `__proto__`/`constructor`/`prototype` keys, escaped and raw
 * lone surrogates, NUL, deep nesting, a BOM, trailing garbage and single-character mutations.
 */
import fc from 'fast-check';

export const hostileKeys = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'a', 'b', 'temp', '', '\\u0000', '\\ud800', 'x'.repeat(129)),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)),
);

const numbers = fc.oneof(
  fc.constantFrom('1e400', '-1e400', `1${'0'.repeat(400)}`, '1e-400', '-0', '0.1', '9007199254740993', '123456789012345678901234567890', '1E+2'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
);
const strings = fc.oneof(
  fc.constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"\ud800"', '"\\u0000"', '"\u2028"', '"\\/"', '""', `"${'y'.repeat(300)}"`),
  fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
);

/** JSON text with hostile leaves and keys; objects may repeat a key. */
export const hostileJson: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 6 },
    numbers, strings, fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('node'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc.array(fc.tuple(hostileKeys, tie('node')), { maxLength: 4 }).map((es) => `{${es.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
  ),
})).node;

/** `{"a":` or `[` opened `depth` times around a leaf: the first opener is an object. */
export const nested = (openers: string[], leaf = '1'): string => {
  const close = openers.map((o) => (o === '[' ? ']' : '}')).reverse().join('');
  return `${openers.join('')}${leaf}${close}`;
};

/** A single-character edit of `text` (insert, delete or replace), from JSON's own alphabet mostly. */
export const mutateText = (text: string): fc.Arbitrary<string> => fc.tuple(
  fc.nat({ max: text.length }), fc.constantFrom('insert', 'delete', 'replace'),
  fc.oneof(fc.constantFrom(...'{}[]:,"\\ 0e-+.tfn'.split(''), '\ufeff', '\u0000', '\ud800'), fc.string({ minLength: 1, maxLength: 1 })),
).map(([at, op, c]) => (op === 'insert' ? text.slice(0, at) + c + text.slice(at) : op === 'delete' ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + c + text.slice(at + 1)));
