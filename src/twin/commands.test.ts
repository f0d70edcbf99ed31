import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  answerCommand, cancelCommand, checkCommandJson, COMMAND_RETENTION_MS, deliverCommand, expireIfDue, findCommand, isCommandId, isCommandName, isEnded,
  isPrunable, newCommandId, newestFirst, planCommand, publicCommand, timeOutCommand,
} from './commands.ts';
import type { Command, CommandStatus } from './commands.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const queued = (over: Partial<Command> = {}): Command => ({ ...planCommand('dev-1', { name: 'reboot', ttlSeconds: 60 }, 'c1', T0), ...over });
const STATUSES: CommandStatus[] = ['queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled'];

describe('command rules', () => {
  it('plans a queued command with expiresAt from ttlSeconds and a null payload by default', () => {
    expect(queued()).toEqual({
      id: 'c1', twin: 'dev-1', name: 'reboot', payload: null, status: 'queued',
      createdAt: T0.toISOString(), updatedAt: T0.toISOString(), expiresAt: later(60_000).toISOString(),
    });
    expect(planCommand('d', { name: 'x', clientToken: 'k' }, 'c2', T0, 5000)).toMatchObject({ expiresAt: later(5000).toISOString(), clientToken: 'k' });
    expect(planCommand('d', { name: 'x' }, 'c3', T0)).not.toHaveProperty('expiresAt');
  });

  it('refuses names outside the twin-id rules and JSON over 32 KiB', () => {
    for (const name of ['', '-x', 'a b', 'x'.repeat(65), 7]) {
      expect(() => planCommand('d', { name } as never, 'c', T0)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
    expect(isCommandName('x'.repeat(64))).toBe(true);
    expect(() => checkCommandJson('é'.repeat(16 * 1024), 'payload')).toThrow(expect.objectContaining({ code: 'too_large' }));
    expect(() => checkCommandJson('x'.repeat(32 * 1024 - 2), 'payload')).not.toThrow();
  });

  it('goes queued → delivered → succeeded, keeping the result', () => {
    const delivered = deliverCommand(queued(), later(1))!;
    expect(delivered).toMatchObject({ status: 'delivered', updatedAt: later(1).toISOString() });
    expect(deliverCommand(delivered, later(2))).toBeNull();
    expect(answerCommand(delivered, { status: 'succeeded', result: { ok: 1 } }, later(3))).toMatchObject({ status: 'succeeded', result: { ok: 1 } });
  });

  it('the first answer wins: every change to an ended command is command_ended', () => {
    fc.assert(fc.property(fc.constantFrom<CommandStatus>('succeeded', 'failed', 'expired', 'cancelled'), fc.constantFrom('succeeded', 'failed') as fc.Arbitrary<'succeeded' | 'failed'>, (status, answer) => {
      const ended = queued({ status });
      expect(() => answerCommand(ended, { status: answer }, later(1))).toThrow(expect.objectContaining({ code: 'command_ended' }));
      expect(() => cancelCommand(ended, later(1))).toThrow(expect.objectContaining({ code: 'command_ended' }));
      expect(() => timeOutCommand(ended, later(1))).toThrow(expect.objectContaining({ code: 'command_ended' }));
      expect(deliverCommand(ended, later(1))).toBeNull();
      expect(expireIfDue(ended, later(10 ** 9))).toBeNull();
    }));
  });

  it('expires an open command once expiresAt is reached, not before', () => {
    expect(expireIfDue(queued(), later(59_999))).toBeNull();
    expect(expireIfDue(queued({ status: 'delivered' }), later(60_000))).toMatchObject({ status: 'expired' });
    expect(expireIfDue(queued({ expiresAt: undefined as never }), later(10 ** 9))).toBeNull();
  });

  it('prunes ended commands only after the retention', () => {
    const done = queued({ status: 'succeeded', updatedAt: T0.toISOString() });
    expect(isPrunable(done, later(COMMAND_RETENTION_MS - 1))).toBe(false);
    expect(isPrunable(done, later(COMMAND_RETENTION_MS))).toBe(true);
    expect(isPrunable(queued(), later(COMMAND_RETENTION_MS * 10))).toBe(false);
    expect(STATUSES.filter(isEnded)).toEqual(['succeeded', 'failed', 'expired', 'cancelled']);
  });

  it('makes valid ids that sort by creation time; orders newest first', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 1, max: 10 ** 6 }), (ms, gap) => {
      const a = newCommandId(ms);
      const b = newCommandId(ms + gap);
      expect(isCommandId(a) && isCommandId(b)).toBe(true);
      expect(a < b).toBe(true);
    }));
    const older = queued({ id: 'a' });
    const newer = queued({ id: 'b', createdAt: later(1).toISOString() });
    expect([older, newer].sort(newestFirst).map((c) => c.id)).toEqual(['b', 'a']);
  });

  it('shows no twin or clientToken publicly', () => {
    expect(publicCommand(queued({ clientToken: 'k' }))).not.toHaveProperty('clientToken');
    expect(publicCommand(queued())).not.toHaveProperty('twin');
  });
});

describe('findCommand', () => {
  it('finds a command by id, and names the missing id with not_found', () => {
    const commands = [queued(), queued({ id: 'c2' })];
    expect(findCommand(commands, 'c2')).toBe(commands[1]);
    expect(() => findCommand(commands, 'c9')).toThrow(expect.objectContaining({ code: 'not_found', message: 'No command "c9"' }));
  });
});
