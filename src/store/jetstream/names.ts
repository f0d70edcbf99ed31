/**
 * Where a JetStream store keeps things: one stream of twin records and one KV bucket of
 * credentials, both named after a namespace so several stores (or test runs) can share a NATS
 * cluster without seeing each other.
 *
 * A twin's records go on the subject `dpl.<ns>.twin.<token>`. Twin ids may hold `.` (the NATS
 * subject separator) and `:`; the token escapes them, and `_` itself, as `_XX` (hex), leaving
 * `A-Z a-z 0-9 -`: valid both as a subject token and as a KV key, and reversible.
 */
import { fail } from '../../errors.ts';
import type { StoredCredential } from '../types.ts';

export interface StoreNames {
  /** The stream holding every twin's records. */
  stream: string;
  /** Subject prefix of twin records; a twin's subject is `twinSubjects + token`. */
  twinSubjects: string;
  /** The KV bucket of credentials. */
  credentials: string;
  /** The KV bucket of fleet job records (jobs.ts). */
  jobs: string;
}

/** Namespaces are one subject token and part of a stream name: letters, digits, `-`, `_`. */
export function storeNames(namespace: string): StoreNames {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) throw fail('invalid_request', `Cannot use cluster namespace "${namespace}": expected 1-32 of A-Z a-z 0-9 _ -`);
  return { stream: `DPL_${namespace}_TWINS`, twinSubjects: `dpl.${namespace}.twin.`, credentials: `dpl_${namespace}_credentials`, jobs: `dpl_${namespace}_jobs` };
}

const ESCAPED = /[._:]/g;

/** The subject token of a twin id (ids are checked by the caller: `A-Z a-z 0-9 . _ : -`). */
export function twinToken(id: string): string {
  return id.replace(ESCAPED, (c) => `_${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The twin id a `twinToken` came from. */
export function twinIdOfToken(token: string): string {
  return token.replace(/_([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The twin subject of `id`. */
export const twinSubject = (names: StoreNames, id: string): string => names.twinSubjects + twinToken(id);

/** The twin id of a record's subject. */
export const twinIdOfSubject = (names: StoreNames, subject: string): string => twinIdOfToken(subject.slice(names.twinSubjects.length));

const KIND_PREFIX: Readonly<Record<StoredCredential['kind'], string>> = { key: 'k', device: 'd' };

/**
 * A credential's KV key: kind letter, then the id as base64url of its UTF-8 (ids may hold any
 * character; KV keys only `A-Z a-z 0-9 - _ = . /`).
 */
export function credentialKvKey(kind: StoredCredential['kind'], id: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(id)) binary += String.fromCharCode(byte);
  const base64url = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${KIND_PREFIX[kind]}.${base64url}`;
}

/** The filter matching every KV key of one credential kind. */
export const credentialKvFilter = (kind: StoredCredential['kind']): string => `${KIND_PREFIX[kind]}.>`;

/** The credential id of a KV key made by `credentialKvKey` (undefined for any other key). */
export function credentialIdOfKvKey(key: string): string | undefined {
  const match = /^[kd]\.([A-Za-z0-9_-]+)$/.exec(key);
  if (match === null) return undefined;
  const base64 = match[1]!.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
