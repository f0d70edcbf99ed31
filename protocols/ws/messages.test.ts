import { describe, it, expect } from 'vitest';
import { parseMessage } from './messages.ts';

describe('parseMessage()', () => {
  it('accepts each op of the contract', () => {
    for (const text of [
      '{"op":"subscribe","ref":"1","twins":["a","b"],"since":{"a":12}}',
      '{"op":"subscribe","ref":"1","prefix":"site-a:"}',
      '{"op":"unsubscribe","ref":"2","twins":["a"]}',
      '{"op":"get","ref":"3","twin":"a"}',
      '{"op":"patch","ref":"4","twin":"a","desired":{"t":1},"tags":{"s":"x"},"ifVersion":12,"clientToken":"x"}',
      '{"op":"report","ref":"5","reported":{"t":1}}',
    ]) expect(parseMessage(text), text).toMatchObject({ ok: true });
  });

  it('passes documents through untouched, null included, for the core to validate', () => {
    const parsed = parseMessage('{"op":"patch","twin":"a","desired":null,"tags":[1]}');
    expect(parsed).toMatchObject({ ok: true, message: { desired: null, tags: [1] } });
  });

  it('reports malformed JSON without a ref', () => {
    const parsed = parseMessage('{"op":');
    expect(parsed.ok).toBe(false);
    expect(parsed.ref).toBeUndefined();
    if (!parsed.ok) expect(parsed.error.message).toMatch(/^Malformed JSON: /);
  });

  it('keeps the ref of a message whose fields are invalid, and names the field', () => {
    const parsed = parseMessage('{"op":"get","ref":"r","twin":5}');
    expect(parsed).toMatchObject({ ok: false, op: 'get', ref: 'r', error: { code: 'invalid_request', details: { path: ['twin'] } } });
  });

  it('refuses unknown fields, unknown ops and "twins" together with "prefix"', () => {
    expect(parseMessage('{"op":"get","twin":"a","extra":1}')).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(parseMessage('{"op":"delete","ref":9}')).toMatchObject({ ok: false, op: null, ref: 9 });
    expect(parseMessage('{"op":"subscribe","twins":["a"],"prefix":"a"}')).toMatchObject({ ok: false, op: 'subscribe' });
    expect(parseMessage('{"op":"toString"}')).toMatchObject({ ok: false, op: null });
  });

  it('refuses negative or fractional versions', () => {
    expect(parseMessage('{"op":"subscribe","twins":["a"],"since":{"a":1.5}}').ok).toBe(false);
    expect(parseMessage('{"op":"patch","twin":"a","desired":{},"ifVersion":0}').ok).toBe(false);
  });
});
