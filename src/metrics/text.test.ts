import { describe, it, expect } from 'vitest';
import { escapeHelp, escapeLabelValue, formatValue, sampleLine } from './text.ts';

describe('formatValue()', () => {
  it('writes the special values the way Prometheus spells them', () => {
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(Number.NaN)).toBe('NaN');
  });

  it('writes integers without a fraction or an exponent', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(-0)).toBe('0');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(2 ** 53)).toBe('9007199254740992');
    expect(formatValue(123456789012345680000)).toBe('123456789012345680000');
  });

  it('writes fractions in the shortest form that round-trips', () => {
    expect(formatValue(0.1)).toBe('0.1');
    expect(formatValue(-2.5)).toBe('-2.5');
    expect(formatValue(1e-7)).toBe('1e-7');
  });
});

describe('escapeLabelValue()', () => {
  it('escapes backslash, double quote and line feed, and nothing else', () => {
    expect(escapeLabelValue('a\\b"c\nd\te')).toBe('a\\\\b\\"c\\nd\te');
    expect(escapeLabelValue('plain')).toBe('plain');
  });
});

describe('escapeHelp()', () => {
  it('escapes backslash and line feed but leaves double quotes alone', () => {
    expect(escapeHelp('say "hi"\\\nbye')).toBe('say "hi"\\\\\\nbye');
  });
});

describe('sampleLine()', () => {
  it('omits the braces when a series has no labels', () => {
    expect(sampleLine('up', '', 1)).toBe('up 1');
    expect(sampleLine('up', 'job="x"', 1)).toBe('up{job="x"} 1');
  });
});
