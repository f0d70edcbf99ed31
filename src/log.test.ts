import { describe, expect, it } from 'vitest';
import { DoppelError } from './errors.ts';
import { createLogger, silentLogger } from './log.ts';
import type { LogLevel } from './log.ts';

const NOW = new Date('2026-11-23T10:00:00.000Z');

function capture(level: LogLevel) {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => lines.push(line), () => NOW);
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, entries };
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

describe('createLogger() level filtering', () => {
  it('emits the configured level and above, and drops the ones below', () => {
    const expected: Record<LogLevel, string[]> = {
      debug: ['debug', 'info', 'warn', 'error'],
      info: ['info', 'warn', 'error'],
      warn: ['warn', 'error'],
      error: ['error'],
      silent: [],
    };
    for (const level of Object.keys(expected) as LogLevel[]) {
      const { logger, entries } = capture(level);
      for (const l of LEVELS) logger[l](`at ${l}`);
      expect({ level, emitted: entries().map((e) => e.level) }).toEqual({ level, emitted: expected[level] });
    }
  });

  it('enabled() agrees with what is emitted', () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'silent'] as const) {
      const { logger, lines } = capture(level);
      for (const l of LEVELS) {
        const before = lines.length;
        logger[l]('x');
        expect({ level, l, enabled: logger.enabled(l) }).toEqual({ level, l, enabled: lines.length > before });
      }
    }
  });

  it('silentLogger drops everything', () => {
    expect(() => { for (const l of LEVELS) silentLogger[l]('x', { a: 1 }); }).not.toThrow();
    for (const l of LEVELS) expect(silentLogger.enabled(l)).toBe(false);
  });
});

describe('createLogger() line shape', () => {
  it('writes one JSON object per call with time, level, msg and the fields', () => {
    const { logger, lines } = capture('debug');
    logger.info('listening', { http: 8080, host: '127.0.0.1', nested: { ok: true } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-11-23T10:00:00.000Z', level: 'info', msg: 'listening', http: 8080, host: '127.0.0.1', nested: { ok: true },
    });
  });

  it('puts time, level and msg first', () => {
    const { logger, lines } = capture('info');
    logger.warn('w', { z: 1 });
    expect(Object.keys(JSON.parse(lines[0]!))).toEqual(['time', 'level', 'msg', 'z']);
  });

  it('keeps a multi-line message on one line', () => {
    const { logger, lines, entries } = capture('info');
    logger.error('first\nsecond');
    expect(lines[0]).not.toContain('\n');
    expect(entries()[0]!.msg).toBe('first\nsecond');
  });

  it('writes no fields when none are given', () => {
    const { logger, entries } = capture('info');
    logger.info('stopped');
    expect(entries()).toEqual([{ time: NOW.toISOString(), level: 'info', msg: 'stopped' }]);
  });

  it('uses the real clock when none is injected', () => {
    const lines: string[] = [];
    const before = Date.now();
    createLogger('info', (l) => lines.push(l)).info('x');
    const time = Date.parse((JSON.parse(lines[0]!) as { time: string }).time);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});

describe('createLogger() error serialisation', () => {
  it('writes an Error in err as its message and stack', () => {
    const { logger, entries } = capture('info');
    const err = new Error('disk on fire');
    logger.error('request failed', { err, path: '/v1/twins' });
    expect(entries()[0]).toEqual({
      time: NOW.toISOString(), level: 'error', msg: 'request failed', path: '/v1/twins',
      err: { message: 'disk on fire', stack: err.stack },
    });
  });

  it('serialises a DoppelError the same way', () => {
    const { logger, entries } = capture('info');
    const err = new DoppelError('unavailable', 'Store is closed');
    logger.error('shutdown failed', { err });
    expect(entries()[0]!.err).toMatchObject({ message: 'Store is closed' });
    expect((entries()[0]!.err as { stack: string }).stack).toContain('Store is closed');
  });

  it('passes a non-Error err through as plain JSON', () => {
    const { logger, entries } = capture('info');
    logger.error('odd throw', { err: 'just a string' });
    logger.error('odd throw', { err: { code: 42 } });
    expect(entries().map((e) => e.err)).toEqual(['just a string', { code: 42 }]);
  });
});
