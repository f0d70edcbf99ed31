/**
 * @module
 * The key layout shared by both stores. Keys are strings compared in code-unit order (LevelDB
 * compares their UTF-8 bytes, which agrees for the ASCII keys we write):
 *
 * - `t!{id}` — twin snapshot
 * - `h!{id}!{version, 10 digits}` — change event; zero-padding makes key order version order
 * - `c!k!{id}` — API key credential, `c!d!{id}` — device credential: one range per kind, so
 *   listing the (few) API keys never reads the (many) device credentials
 * - `p!{pendingSince}!{id}` — the twins whose device has not converged, oldest pending first: the
 *   out-of-sync count and the age of the oldest pending delta without reading any twin
 * - `x!{twin}!{command id}` — a command to the device; ids sort by creation time, so each twin's
 *   commands are one range in creation order
 * - `j!{job id}` — a fleet job (src/job/types.ts); `k!{job id}!{twin}` — the job's done-mark on a
 *   twin, committed in the same batch as the job's change, so a resumed job never applies twice
 * - `n!{id}` — an outbound connector's definition
 * - `o!{connector}!{seq, 16 digits}` — a connector's outbox: its backlog is one range, in seq order
 * - `m!format` — layout version, so an older Doppel refuses a store it cannot read
 *
 * Twin ids only contain `A-Z a-z 0-9 . _ : -`, all above `!` (0x21), so the separator sorts below
 * every id character: the history of `a` (`h!a!…`) ends before that of `a.b` (`h!a.b!…`) begins,
 * and each twin's history is one contiguous range.
 */
import { fail } from '../errors.ts';
import type { StoreOp, StoredCredential } from './types.ts';
import { isTwinId } from '../twin/ids.ts';
import { isCommandId } from '../twin/commands.ts';
import { isJobId } from '../job/types.ts';

export const FORMAT_KEY = 'm!format';
/** Bump when the layout or value encoding changes incompatibly (and teach `open` to migrate). 2: the pending index. */
export const FORMAT_VERSION = 2;

const TWIN = 't!';
const HISTORY = 'h!';
const PENDING = 'p!';
const COMMAND = 'x!';
const JOB = 'j!';
const JOB_MARK = 'k!';
const CONNECTOR = 'n!';
const OUTBOX = 'o!';
const SEQ_DIGITS = 16;
/** Per credential kind, the prefix of its range. */
const CREDENTIAL: Readonly<Record<StoredCredential['kind'], string>> = { key: 'c!k!', device: 'c!d!' };
/**
 * Upper bound for "every key starting with p": `p + END` exceeds any key that continues p with an
 * id character, since ids are ASCII (≤ 0x7a) and U+00FF is above them in both UTF-16 and UTF-8.
 */
const END = '\xff';
const VERSION_DIGITS = 10;
const MAX_VERSION = 10 ** VERSION_DIGITS - 1;

/** A key range in the shape LevelDB iterators take (`gt` or `gte`, then `lt`). */
export interface KeyRange { gt?: string; gte?: string; lt: string }

export function twinKey(id: string): string {
  return TWIN + id;
}

export function historyKey(twin: string, version: number): string {
  return `${HISTORY}${twin}!${String(version).padStart(VERSION_DIGITS, '0')}`;
}

/** The version encoded in a `historyKey`. */
export function versionOfHistoryKey(key: string): number {
  return Number(key.slice(-VERSION_DIGITS));
}

/** The pending-index entry of a twin out of sync since `since` (an ISO timestamp: sorts by time). */
export function pendingKey(since: string, twin: string): string {
  return `${PENDING}${since}!${twin}`;
}

/** The twin id and since of a `pendingKey` (ids never contain `!`; ISO timestamps neither). */
export function parsePendingKey(key: string): { twin: string; since: string } {
  const cut = key.indexOf('!', PENDING.length);
  return { since: key.slice(PENDING.length, cut), twin: key.slice(cut + 1) };
}

export function commandKey(twin: string, id: string): string {
  return `${COMMAND}${twin}!${id}`;
}

/** Every command of a twin (ids never contain `!`, so `a`'s range ends before `a.b`'s). */
export function commandRange(twin: string): KeyRange {
  return { gte: `${COMMAND}${twin}!`, lt: `${COMMAND}${twin}!${END}` };
}

export function jobKey(id: string): string {
  return JOB + id;
}

/** Every job record. */
export const JOBS_RANGE: KeyRange = { gte: JOB, lt: 'j"' };

/** The job id of a key in JOBS_RANGE. */
export const jobIdOfKey = (key: string): string => key.slice(JOB.length);

export function jobMarkKey(job: string, twin: string): string {
  return `${JOB_MARK}${job}!${twin}`;
}

/** Every done-mark of one job. */
export function jobMarkRange(job: string): KeyRange {
  return { gte: `${JOB_MARK}${job}!`, lt: `${JOB_MARK}${job}!${END}` };
}

/** Every command record of every twin. */
export const COMMANDS_RANGE: KeyRange = { gte: COMMAND, lt: 'x"' };

/** The twin id of a `commandKey`. */
export function twinOfCommandKey(key: string): string {
  return key.slice(COMMAND.length, key.lastIndexOf('!'));
}

export function connectorKey(id: string): string {
  return CONNECTOR + id;
}

/** Every connector definition. */
export const CONNECTORS_RANGE: KeyRange = { gte: CONNECTOR, lt: 'n"' };

export function outboxKey(connector: string, seq: number): string {
  return `${OUTBOX}${connector}!${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** A connector's outbox, in seq order (connector ids never contain `!`); only seqs above `after` when given. */
export function outboxRange(connector: string, after?: number): KeyRange {
  const lt = `${OUTBOX}${connector}!${END}`;
  return after === undefined || after < 0 ? { gte: `${OUTBOX}${connector}!`, lt } : { gt: outboxKey(connector, after), lt };
}

/** The whole pending index, oldest first. */
export const PENDING_RANGE: KeyRange = { gte: PENDING, lt: 'p"' };

export function credentialKey(kind: StoredCredential['kind'], id: string): string {
  return CREDENTIAL[kind] + id;
}

/** Twins whose id starts with `prefix`, after `after` (exclusive) when given. */
export function twinRange(opts: { prefix?: string; after?: string }): KeyRange {
  const prefix = opts.prefix ?? '';
  const lt = TWIN + prefix + END;
  // An `after` below the prefix would start the range before it; the prefix bound is tighter then.
  if (opts.after !== undefined && opts.after >= prefix) return { gt: twinKey(opts.after), lt };
  return { gte: TWIN + prefix, lt };
}

/** A twin's events with version > `after` (all of them for `after` = -1). */
export function historyRange(twin: string, after: number): KeyRange {
  const from = Math.max(0, after + 1);
  const lt = `${HISTORY}${twin}!${END}`;
  // Past the largest encodable version nothing can match; an empty range says so without a
  // malformed 11-digit key that would sort between valid ones.
  if (from > MAX_VERSION) return { gte: lt, lt };
  return { gte: historyKey(twin, from), lt };
}

/**
 * Every credential of one kind and nothing else. `"` is the character after `!`, so the bound
 * holds for any credential id, whatever characters it has.
 */
export function credentialRange(kind: StoredCredential['kind']): KeyRange {
  const prefix = CREDENTIAL[kind];
  return { gte: prefix, lt: `${prefix.slice(0, -1)}"` };
}

/** Is `key` inside `range`? (The memory store's replacement for a LevelDB range scan.) */
export function inRange(key: string, range: KeyRange): boolean {
  if (range.gt !== undefined && key <= range.gt) return false;
  if (range.gte !== undefined && key < range.gte) return false;
  return key < range.lt;
}

/** One physical write: what a `StoreOp` does to the key space. */
export type KeyWrite =
  | { type: 'put'; key: string; value: object }
  | { type: 'del'; key: string };

/**
 * Maps an op to its key write, refusing ids and versions that would break the layout (an id
 * with `!` could land inside another twin's range). Reaching this with one is a bug upstream.
 */
export function keyWriteOf(op: StoreOp): KeyWrite {
  switch (op.type) {
    case 'putTwin':
      return { type: 'put', key: twinKey(checkTwinId(op.twin.id)), value: op.twin };
    case 'deleteTwin':
      return { type: 'del', key: twinKey(checkTwinId(op.id)) };
    case 'putEvent':
      return { type: 'put', key: historyKey(checkTwinId(op.event.twin), checkVersion(op.event.version)), value: op.event };
    case 'deleteEvent':
      return { type: 'del', key: historyKey(checkTwinId(op.twin), checkVersion(op.version)) };
    case 'putCredential':
      return { type: 'put', key: credentialKey(checkCredentialKind(op.credential.kind), checkCredentialId(op.credential.id)), value: op.credential };
    case 'deleteCredential':
      return { type: 'del', key: credentialKey(checkCredentialKind(op.kind), checkCredentialId(op.id)) };
    case 'putPending':
      return { type: 'put', key: pendingKey(checkSince(op.since), checkTwinId(op.twin)), value: {} };
    case 'deletePending':
      return { type: 'del', key: pendingKey(checkSince(op.since), checkTwinId(op.twin)) };
    case 'putCommand':
      return { type: 'put', key: commandKey(checkTwinId(op.command.twin), checkCommandId(op.command.id)), value: op.command };
    case 'deleteCommand':
      return { type: 'del', key: commandKey(checkTwinId(op.twin), checkCommandId(op.id)) };
    case 'putJob':
      return { type: 'put', key: jobKey(checkJobId(op.job.id)), value: op.job };
    case 'deleteJob':
      return { type: 'del', key: jobKey(checkJobId(op.id)) };
    case 'putJobMark':
      return { type: 'put', key: jobMarkKey(checkJobId(op.job), checkTwinId(op.twin)), value: {} };
    case 'deleteJobMark':
      return { type: 'del', key: jobMarkKey(checkJobId(op.job), checkTwinId(op.twin)) };
    case 'putConnector':
      return { type: 'put', key: connectorKey(checkConnectorId(op.connector.id)), value: op.connector };
    case 'deleteConnector':
      return { type: 'del', key: connectorKey(checkConnectorId(op.id)) };
    case 'putOutbox':
      return { type: 'put', key: outboxKey(checkConnectorId(op.entry.connector), checkSeq(op.entry.seq)), value: op.entry };
    case 'deleteOutbox':
      return { type: 'del', key: outboxKey(checkConnectorId(op.connector), checkSeq(op.seq)) };
    default:
      throw fail('internal', `Unknown store op "${(op as { type: unknown }).type}"`);
  }
}

function checkTwinId(id: unknown): string {
  if (!isTwinId(id)) throw fail('internal', `Cannot store twin id "${String(id)}": not a valid id`);
  return id;
}

function checkConnectorId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw fail('internal', `Cannot store connector id "${String(id)}": not a valid id`);
  return id;
}

function checkSeq(seq: unknown): number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw fail('internal', `Cannot store outbox seq "${String(seq)}": not a safe non-negative integer`);
  return seq;
}

function checkCommandId(id: unknown): string {
  if (!isCommandId(id)) throw fail('internal', `Cannot store command id "${String(id)}": not a valid id`);
  return id;
}

function checkJobId(id: unknown): string {
  if (!isJobId(id)) throw fail('internal', `Cannot store job id "${String(id)}": not a valid id`);
  return id;
}

function checkSince(since: unknown): string {
  if (typeof since !== 'string' || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(since)) throw fail('internal', `Cannot index pendingSince "${String(since)}": not an ISO timestamp`);
  return since;
}

function checkVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > MAX_VERSION) {
    throw fail('internal', `Cannot store event version "${String(version)}": not an integer in 0..${MAX_VERSION}`);
  }
  return version;
}

function checkCredentialKind(kind: unknown): StoredCredential['kind'] {
  if (kind !== 'key' && kind !== 'device') throw fail('internal', `Cannot store credential kind "${String(kind)}": not "key" or "device"`);
  return kind;
}

function checkCredentialId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw fail('internal', `Cannot store credential id "${String(id)}": not a non-empty string`);
  return id;
}

/** Checks `readHistory` parameters, which become key bounds and must not be NaN or fractional. */
export function checkHistoryQuery(after: number, limit: number): void {
  if (!Number.isInteger(after)) throw fail('invalid_request', `History "after" must be an integer: got ${after}`);
  if (!Number.isInteger(limit) || limit < 0) throw fail('invalid_request', `History "limit" must be a non-negative integer: got ${limit}`);
}
