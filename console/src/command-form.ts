/**
 * The command form's rules, kept pure so they can be tested without a browser: what the form
 * turns into (`POST /v1/twins/{id}/commands`), what an answer means in plain words, and how live
 * status changes merge into the list shown.
 */
import type { Command, CommandStatus, Json } from './api.ts';

/** The server's rule for a command name (docs/reference/http.md "Commands"). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** `timeoutMs` is 1000–300000 on the server: seconds here. */
export const TIMEOUT_S = { min: 1, max: 300, default: 30 } as const;
/** `ttlSeconds` choices offered for a queued command (the server takes 1–2592000). */
export const TTL_CHOICES: [label: string, seconds: number][] = [
  ['10 minutes', 600], ['1 hour', 3600], ['1 day', 86_400], ['7 days', 604_800], ['30 days', 2_592_000],
];

export interface CommandDraft { name: string; payload: string; mode: 'direct' | 'queued'; timeoutS: string; ttlSeconds: number }
export type CommandBody = { name: string; payload?: Json; timeoutMs?: number; ttlSeconds?: number };

/** The request body for a draft, or which field is wrong and why. */
export function commandBody(d: CommandDraft): { body: CommandBody } | { field: 'name' | 'payload' | 'timeout'; problem: string } {
  const name = d.name.trim();
  if (!NAME.test(name)) return { field: 'name', problem: 'A name is 1–64 letters, digits or . _ : - and starts with a letter or digit.' };
  let payload: Json | undefined;
  if (d.payload.trim() !== '') {
    try { payload = JSON.parse(d.payload) as Json; } catch (e) { return { field: 'payload', problem: `Payload is not JSON: ${(e as Error).message}` }; }
  }
  const withPayload = payload === undefined ? { name } : { name, payload };
  if (d.mode === 'queued') return { body: { ...withPayload, ttlSeconds: d.ttlSeconds } };
  const seconds = Number(d.timeoutS);
  if (!Number.isInteger(seconds) || seconds < TIMEOUT_S.min || seconds > TIMEOUT_S.max) {
    return { field: 'timeout', problem: `Wait ${TIMEOUT_S.min} to ${TIMEOUT_S.max} whole seconds.` };
  }
  return { body: { ...withPayload, timeoutMs: seconds * 1000 } };
}

export const isOpen = (s: CommandStatus): boolean => s === 'queued' || s === 'delivered';

/** What each status means, for a person. */
export const STATUS_WORDS: Record<CommandStatus, string> = {
  queued: 'queued: waits for the device to make contact',
  delivered: 'delivered: sent to the device, no answer yet',
  succeeded: 'succeeded',
  failed: 'failed: the device reported an error',
  expired: 'expired: no answer in time',
  cancelled: 'cancelled',
};

/** Plain words for an API error code the command routes answer on purpose, or null for the rest. */
export function refusalWords(code: string, timeoutS: string): string | null {
  if (code === 'device_offline') {
    return 'The device is offline: it has no live connection to receive the command, so nothing was sent or stored. Queue it instead to deliver it when the device next connects.';
  }
  if (code === 'command_timeout') {
    return `The device did not answer within ${timeoutS} s. The command ended as expired; the device may still have acted on it.`;
  }
  return null;
}

/** Merges one command into a newest-first list (ids sort by creation time); an older status never replaces a newer one. */
export function mergeCommand(list: Command[], c: Command, limit = 20): Command[] {
  const i = list.findIndex((x) => x.id === c.id);
  if (i >= 0) {
    const old = list[i]!;
    // An ended status is final; among open ones the later updatedAt wins.
    if (!isOpen(old.status) || (old.updatedAt > c.updatedAt && isOpen(c.status))) return list;
    return list.map((x, j) => (j === i ? c : x));
  }
  return [...list, c].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, limit);
}
