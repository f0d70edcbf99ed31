import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeIssue } from './zod-issue.ts';

/** The first issue of parsing `value`, described. */
function said(schema: z.ZodType, value: unknown, subject: string): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected a failure');
  return describeIssue(result.error.issues[0]!, subject, value);
}

const Body = z.object({
  desired: z.record(z.string(), z.unknown()).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  mode: z.enum(['eco', 'boost']).optional(),
  name: z.string().min(1).optional(),
  id: z.string(),
}).strict();

describe('describeIssue', () => {
  it('names unknown keys the way a person would', () => {
    expect(said(Body, { id: 'a', desird: {} }, 'twin')).toBe('Unknown key "desird" in twin');
    expect(said(Body, { id: 'a', x: 1, y: 2 }, 'twin')).toBe('Unknown keys "x", "y" in twin');
  });

  it('says what type was expected and which was given', () => {
    expect(said(Body, { id: 'a', desired: 'hot' }, 'twin')).toBe('Invalid "desired" in twin: expected an object, got a string');
    expect(said(Body, { id: 'a', limit: '2.5' }, 'query')).toBe('Invalid "limit" in query: expected a whole number, got a string');
  });

  it('words limits, options and missing fields in plain English', () => {
    expect(said(Body, { id: 'a', limit: '5000' }, 'query')).toBe('Invalid "limit" in query: must be at most 1000');
    expect(said(Body, { id: 'a', limit: '0' }, 'query')).toBe('Invalid "limit" in query: must be at least 1');
    expect(said(Body, { id: 'a', mode: 'turbo' }, 'twin')).toBe('Invalid "mode" in twin: must be one of "eco", "boost"');
    expect(said(Body, { id: 'a', name: '' }, 'key')).toBe('Invalid "name" in key: must not be empty');
    expect(said(Body, {}, 'twin')).toBe('Missing "id" in twin');
  });

  it('keeps a custom message of the schema as the detail', () => {
    expect(said(z.string().regex(/^a/, 'must start with a'), 'b', 'twin id')).toBe('Invalid twin id: must start with a');
  });
});
