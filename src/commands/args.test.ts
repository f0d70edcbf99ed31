import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.ts';
import type { FlagSpec } from './args.ts';

const SPEC: FlagSpec = { token: 'string', prefix: 'string', json: 'boolean' };
const parse = (...args: string[]) => parseArgs(args, SPEC, 'twins list');
const refusal = (...args: string[]) => { try { parse(...args); } catch (err) { return (err as Error & { code: string }); } throw new Error('expected a usage error'); };

describe('parseArgs', () => {
  it('reads --name value, --name=value, switches and positionals in any order', () => {
    expect(parse('a', '--token', 't1', '--json', 'b', '--prefix=p-')).toEqual({ positionals: ['a', 'b'], flags: { token: 't1', json: true, prefix: 'p-' } });
  });

  it('keeps - as a positional (stdin) and everything after -- as positionals', () => {
    expect(parse('-', '--', '--json', 'x')).toEqual({ positionals: ['-', '--json', 'x'], flags: {} });
  });

  it('accepts a value that starts with -- only inline', () => {
    expect(parse('--prefix=--x').flags).toEqual({ prefix: '--x' });
  });

  it('refuses, naming the flag and the help to read: unknown flags, values on switches, forgotten values', () => {
    expect(refusal('--bogus').message).toBe('doppel twins list: unknown flag --bogus (see doppel twins --help)');
    expect(refusal('-t').message).toBe('doppel twins list: unknown flag -t (see doppel twins --help)');
    expect(refusal('--json=yes').message).toBe('doppel twins list: --json takes no value (see doppel twins --help)');
    expect(refusal('--token', '--json').message).toBe('doppel twins list: --token needs a value (see doppel twins --help)');
    expect(refusal('--token').message).toBe('doppel twins list: --token needs a value (see doppel twins --help)');
    expect(refusal('--token').code).toBe('invalid_request');
  });
});
