/**
 * The backup format: NDJSON, one line per stored record, between a header and a trailer.
 *
 *   {"doppel":"backup","version":1,"storeFormat":2,"createdAt":"…"}
 *   {"k":"t!thermo-42","v":"<base64 of the stored CBOR value>"}
 *   …
 *   {"end":true,"records":12345}
 *
 * Raw records rather than twins, so a restore gives back exactly what was stored: twins, their
 * whole history, the pending index and the credential hashes (never a secret: none is stored).
 * The trailer catches a truncated file. Text, so it survives any transport and diffs sanely.
 */
import { DoppelError } from '../errors.ts';
import { FORMAT_KEY, FORMAT_VERSION } from './keys.ts';
import { decodeValue } from './codec.ts';

export const BACKUP_VERSION = 1;

export interface StoredRecord { key: string; value: Uint8Array }

export function headerLine(now: Date): string {
  return JSON.stringify({ doppel: 'backup', version: BACKUP_VERSION, storeFormat: FORMAT_VERSION, createdAt: now.toISOString() });
}

export const recordLine = (r: StoredRecord): string => JSON.stringify({ k: r.key, v: toBase64(r.value) });

export const trailerLine = (records: number): string => JSON.stringify({ end: true, records });

/** Lines of a whole backup: header, each record, trailer (each without its newline). */
export async function* backupLines(records: AsyncIterable<StoredRecord>, now: Date): AsyncIterable<string> {
  yield headerLine(now);
  let n = 0;
  for await (const r of records) { n++; yield recordLine(r); }
  yield trailerLine(n);
}

const bad = (line: number, why: string) => new DoppelError('invalid_request', `Not a usable Doppel backup: line ${line}: ${why}`);

/**
 * Reads a backup's lines back into records, checking the header, every record and the trailer's
 * count, so a truncated or edited file fails before anything is trusted.
 */
export async function* readBackup(lines: AsyncIterable<string>): AsyncIterable<StoredRecord> {
  let lineNo = 0;
  let header = false;
  let count = 0;
  let ended = false;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text === '') continue;
    if (ended) throw bad(lineNo, 'content after the trailer');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw bad(lineNo, 'not JSON');
    }
    if (!header) {
      if (parsed.doppel !== 'backup') throw bad(lineNo, 'no backup header');
      if (parsed.version !== BACKUP_VERSION) throw bad(lineNo, `backup version ${String(parsed.version)} is not supported (${BACKUP_VERSION})`);
      if (typeof parsed.storeFormat !== 'number' || parsed.storeFormat > FORMAT_VERSION) {
        throw bad(lineNo, `store format ${String(parsed.storeFormat)} is newer than this Doppel supports (${FORMAT_VERSION}); upgrade Doppel`);
      }
      header = true;
      continue;
    }
    if (parsed.end === true) {
      if (parsed.records !== count) throw bad(lineNo, `the trailer counts ${String(parsed.records)} records, the file holds ${count}`);
      ended = true;
      continue;
    }
    if (typeof parsed.k !== 'string' || typeof parsed.v !== 'string') throw bad(lineNo, 'a record needs "k" and "v" strings');
    const value = fromBase64(parsed.v, lineNo);
    if (parsed.k === FORMAT_KEY) decodeValue(value); // must at least decode
    count++;
    yield { key: parsed.k, value };
  }
  if (!header) throw bad(lineNo, 'empty file');
  if (!ended) throw bad(lineNo, 'no trailer: the backup is truncated');
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string, line: number): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw bad(line, 'a value is not base64');
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
