import { describe, expect, it } from 'vitest';
import { computeDelta } from './delta.ts';

describe('computeDelta()', () => {
  it('holds the contract example', () => {
    expect(computeDelta({ temp: 21, mode: 'eco' }, { temp: 19.5, mode: 'eco', fw: '1.2.0' })).toEqual({ temp: 21 });
  });

  it('treats a key missing from reported as differing', () => {
    expect(computeDelta({ a: 1, b: false, c: '' }, {})).toEqual({ a: 1, b: false, c: '' });
  });

  it('never shows keys only in reported', () => {
    expect(computeDelta({}, { a: 1, b: { c: 2 } })).toEqual({});
  });

  it('recurses into nested objects and keeps only differing leaves', () => {
    expect(computeDelta({ a: { b: 1, c: 2, d: { e: 3 } } }, { a: { b: 1, c: 9, d: { e: 3 } } })).toEqual({ a: { c: 2 } });
  });

  it('compares a nested object against {} when reported holds a non-object there', () => {
    expect(computeDelta({ a: { b: 1 } }, { a: 5 })).toEqual({ a: { b: 1 } });
    expect(computeDelta({ a: { b: 1 } }, { a: [1] })).toEqual({ a: { b: 1 } });
    expect(computeDelta({ a: { b: 1 } }, { a: null })).toEqual({ a: { b: 1 } });
  });

  it('lets an empty object in desired contribute nothing', () => {
    expect(computeDelta({ a: {}, b: { c: {} } }, {})).toEqual({});
    expect(computeDelta({ a: {} }, { a: 5 })).toEqual({});
  });

  it('compares arrays whole and in order', () => {
    expect(computeDelta({ a: [1, 2] }, { a: [1, 2] })).toEqual({});
    expect(computeDelta({ a: [1, 2] }, { a: [2, 1] })).toEqual({ a: [1, 2] });
    expect(computeDelta({ a: [{ x: 1 }] }, { a: [{ x: 1, y: 2 }] })).toEqual({ a: [{ x: 1 }] });
  });

  it('includes a scalar desired where reported holds an object', () => {
    expect(computeDelta({ a: 1 }, { a: { b: 1 } })).toEqual({ a: 1 });
  });

  it('compares objects inside arrays regardless of key order', () => {
    expect(computeDelta({ a: [{ x: 1, y: 2 }] }, { a: [{ y: 2, x: 1 }] })).toEqual({});
  });

  it('returns a fresh object that shares leaf values with desired', () => {
    const desired = { a: [1, 2] };
    const delta = computeDelta(desired, {});
    expect(delta).not.toBe(desired);
    expect(delta.a).toBe(desired.a);
    expect(computeDelta({}, {})).not.toBe(computeDelta({}, {}));
  });

  it('ignores inherited keys of reported', () => {
    expect(computeDelta({ toString: 'x', constructor: 'y' }, {})).toEqual({ toString: 'x', constructor: 'y' });
  });
});
