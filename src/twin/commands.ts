/**
 * @module
 * Commands to devices: the pure rules. A command goes `queued → delivered → succeeded | failed`,
 * or ends `expired` (its `expiresAt` passed, or a direct command went unanswered) or `cancelled`.
 * The first answer wins: any change to an ended command is refused with `command_ended`.
 * No I/O here; `actors/command-service.ts` orders these steps per twin and stores the results.
 */
import { fail } from '../errors.ts';
import { assertNoForbiddenKeys } from './limits.ts';

export type CommandStatus = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired' | 'cancelled';
export type CommandOutcome = 'succeeded' | 'failed';

/** A command as stored and as the HTTP API shows it (minus `twin` and `clientToken`). */
export interface Command {
  id: string;
  twin: string;
  name: string;
  payload: unknown;
  status: CommandStatus;
  result?: unknown;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  clientToken?: string;
}

/** What a device is sent: enough to act on it. */
export interface CommandOrder { id: string; name: string; payload: unknown }

/** Payloads and results are JSON values of at most 32 KiB (serialized, UTF-8). */
export const MAX_COMMAND_JSON_BYTES = 32 * 1024;
/** Ended commands stay listable at least this long. */
export const COMMAND_RETENTION_MS = 24 * 3600_000;
/** `ttlSeconds` of a queued command: 1 s to 30 days. */
export const MAX_TTL_SECONDS = 2_592_000;

/** Command names follow the twin-id character rules, 1–64 characters. */
const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Server-assigned command ids: lowercase base36 (see `newCommandId`). */
const COMMAND_ID = /^[0-9a-z]{1,32}$/;

export const isCommandName = (s: unknown): s is string => typeof s === 'string' && COMMAND_NAME.test(s);
export const isCommandId = (s: unknown): s is string => typeof s === 'string' && COMMAND_ID.test(s);

export function isEnded(status: CommandStatus): boolean {
  return status !== 'queued' && status !== 'delivered';
}

/**
 * A fresh id that sorts by creation time: milliseconds in base36 (9 digits, good until 5188),
 * a per-process sequence, and randomness so ids from two processes do not collide.
 */
let sequence = 0;
export function newCommandId(nowMs: number, random: () => number = Math.random): string {
  sequence = (sequence + 1) % 36 ** 3;
  const rand = Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0');
  return nowMs.toString(36).padStart(9, '0') + sequence.toString(36).padStart(3, '0') + rand;
}

/** Throws `too_large` unless `value` serializes to at most 32 KiB of JSON; `invalid_document` for a reserved key. */
export function checkCommandJson(value: unknown, what: 'payload' | 'result'): void {
  assertNoForbiddenKeys(value, `the command's ${what}`);
  const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').byteLength;
  if (bytes > MAX_COMMAND_JSON_BYTES) {
    throw fail('too_large', `Command ${what} is ${bytes} bytes of JSON: at most ${MAX_COMMAND_JSON_BYTES} allowed`, { limit: MAX_COMMAND_JSON_BYTES, actual: bytes });
  }
}

export interface NewCommand { name: string; payload?: unknown; ttlSeconds?: number; clientToken?: string }

/** The command an invocation creates, `queued`; `expiresAt` from `ttlSeconds` (or `expiresInMs`, direct commands). */
export function planCommand(twin: string, init: NewCommand, id: string, now: Date, expiresInMs?: number): Command {
  if (!isCommandName(init.name)) throw fail('invalid_request', `Invalid command name ${JSON.stringify(init.name)}: 1–64 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit`);
  const payload = init.payload ?? null;
  checkCommandJson(payload, 'payload');
  const at = now.toISOString();
  const command: Command = { id, twin, name: init.name, payload, status: 'queued', createdAt: at, updatedAt: at };
  const ttlMs = init.ttlSeconds !== undefined ? init.ttlSeconds * 1000 : expiresInMs;
  if (ttlMs !== undefined) command.expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  if (init.clientToken !== undefined) command.clientToken = init.clientToken;
  return command;
}

function ended(command: Command): never {
  throw fail('command_ended', `Command "${command.id}" already ended ${command.status}`, { status: command.status });
}

/** A copy in its new status; refuses an ended command (the first answer wins). */
function moved(command: Command, status: CommandStatus, now: Date): Command {
  if (isEnded(command.status)) ended(command);
  return { ...command, status, updatedAt: now.toISOString() };
}

/** The device's answer. */
export function answerCommand(command: Command, answer: { status: CommandOutcome; result?: unknown }, now: Date): Command {
  const next = moved(command, answer.status, now);
  if (answer.result !== undefined) {
    checkCommandJson(answer.result, 'result');
    next.result = answer.result;
  }
  return next;
}

export function cancelCommand(command: Command, now: Date): Command {
  return moved(command, 'cancelled', now);
}

/** Sent to the device: `queued` becomes `delivered`; null when nothing changes. */
export function deliverCommand(command: Command, now: Date): Command | null {
  return command.status === 'queued' ? moved(command, 'delivered', now) : null;
}

/** `expired` once `expiresAt` has passed while still open; null when nothing changes. */
export function expireIfDue(command: Command, now: Date): Command | null {
  if (isEnded(command.status) || command.expiresAt === undefined || Date.parse(command.expiresAt) > now.getTime()) return null;
  return { ...command, status: 'expired', updatedAt: now.toISOString() };
}

/** A direct command left unanswered: `expired` now, whatever its `expiresAt`. */
export function timeOutCommand(command: Command, now: Date): Command {
  return moved(command, 'expired', now);
}

/** Ended longer than the retention ago: may be deleted. */
export function isPrunable(command: Command, now: Date): boolean {
  return isEnded(command.status) && now.getTime() - Date.parse(command.updatedAt) >= COMMAND_RETENTION_MS;
}

/** Newest first (ids sort by creation time). */
export function newestFirst(a: Command, b: Command): number {
  return a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;
}

/** The command as the API shows it: without the store's `twin` and the idempotency token. */
export function publicCommand(command: Command): Omit<Command, 'twin' | 'clientToken'> {
  const { twin: _twin, clientToken: _token, ...rest } = command;
  return rest;
}

export function orderOf(command: Command): CommandOrder {
  return { id: command.id, name: command.name, payload: command.payload };
}

/** The command `cid` among a twin's commands; `not_found` when it has none by that id. */
export function findCommand(commands: readonly Command[], cid: string): Command {
  const command = commands.find((c) => c.id === cid);
  if (command === undefined) throw fail('not_found', `No command "${cid}"`);
  return command;
}
