/**
 * Reading and appending twin records on the twin stream. Every append names the subject sequence
 * its writer read (`Nats-Expected-Last-Subject-Sequence`): that is the fence. A writer whose read
 * is stale — a zombie owner after a failover — is refused instead of forking the twin's versions.
 *
 * Reads go to the stream leader (STREAM.MSG.GET), not to direct gets, which 2.9 may answer from a
 * lagging replica: an owner must load what was last acknowledged, or its next append is fenced.
 */
import { ClosedConnectionError, headers } from '@nats-io/transport-node';
import { DeliverPolicy, JetStreamApiError } from '@nats-io/jetstream';
import { DoppelError, fail } from '../../errors.ts';
import { decodeValue, encodeValue } from '../codec.ts';
import type { Connected } from './connection.ts';
import { unavailable, WRONG_LAST_SEQUENCE } from './connection.ts';
import { twinSubject } from './names.ts';
import { EMPTY_HEAD, headOf, indexHeadersOf } from './record.ts';
import type { TwinHead, TwinRecord } from './record.ts';

/** The head of a twin and the subject sequence it was read at (0: the subject has no record). */
export interface ReadHead { seq: number; head: TwinHead }

/** One publish attempt waits this long at most; a commit retries until its own timeout. */
const ATTEMPT_MS = 1_000;
const RETRY_PAUSE_MS = 100;

/** SHA-256 of `bytes`, base64url: part of the dedupe id of a record. */
async function digestOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Records fetched per pull when reading a twin's whole subject. */
const PULL_BATCH = 256;

export class TwinStream {
  readonly #c: Connected;
  readonly #timeoutMs: number;

  constructor(connected: Connected, timeoutMs: number) {
    this.#c = connected;
    this.#timeoutMs = timeoutMs;
  }

  /** The twin's latest record's head, as acknowledged (leader read). */
  async head(id: string): Promise<ReadHead> {
    const msg = await this.#c.jsm.streams.getMessage(this.#c.names.stream, { last_by_subj: twinSubject(this.#c.names, id) })
      .catch((err: unknown) => { throw unavailable(`cannot read twin "${id}"`, err); });
    if (msg === null) return { seq: 0, head: EMPTY_HEAD };
    return { seq: msg.seq, head: headOf(decodeValue<TwinRecord>(msg.data)) };
  }

  /**
   * Appends `record` (encoded as `bytes`) if the subject's last sequence is still `expected`;
   * answers the new sequence. Fails with `unavailable` (details.reason `fenced`) when someone
   * else wrote since, and with plain `unavailable` when no ack came within the timeout.
   *
   * Transient failures (no responders or no ack while the stream elects a leader) are retried
   * within the timeout with the same `Nats-Msg-Id`: subject, predecessor and a digest of the
   * bytes. If an earlier attempt did land, the stream answers the retry as a duplicate with the
   * original sequence instead of a fence error; a different record on the same predecessor has a
   * different id and is fenced.
   */
  async append(id: string, record: TwinRecord, bytes: Uint8Array, expected: number): Promise<number> {
    const subject = twinSubject(this.#c.names, id);
    // A record over the server's max_payload would be refused on every retry: say so at once. It
    // carries the snapshot and the twin's commands (up to 100 open, 32 KiB payloads each).
    const max = this.#c.nc.info?.max_payload;
    if (max !== undefined && bytes.length > max) {
      throw fail('too_large', `Twin "${id}" with its commands would be a ${bytes.length}-byte record: the NATS server takes at most ${max} bytes per message`, { limit: max, actual: bytes.length });
    }
    const h = headers();
    for (const [name, value] of indexHeadersOf(record)) h.set(name, value);
    const msgID = `${subject}@${expected}#${await digestOf(bytes)}`;
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      try {
        const timeout = Math.max(1, Math.min(left, ATTEMPT_MS));
        const ack = await this.#c.js.publish(subject, bytes, { msgID, expect: { lastSubjectSequence: expected }, headers: h, timeout });
        return ack.seq;
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) throw fenced(id, err);
        const transient = !(err instanceof JetStreamApiError) && !(err instanceof ClosedConnectionError);
        if (!transient || deadline - Date.now() < RETRY_PAUSE_MS) throw unavailable(`cannot write twin "${id}"`, err);
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }

  /**
   * Drops a deleted twin's records before its tombstone (sequence `tombstone`), but none from
   * `keepFrom()` on (records some connector has yet to deliver); if that cannot be read, none.
   * A purge's `seq` keeps `seq` and later.
   */
  async purgeDeleted(id: string, tombstone: number, keepFrom?: () => Promise<number>): Promise<void> {
    const seq = Math.min(tombstone, keepFrom === undefined ? Infinity : await keepFrom());
    if (seq <= 1) return;
    await this.#c.jsm.streams.purge(this.#c.names.stream, { filter: twinSubject(this.#c.names, id), seq })
      .catch((err: unknown) => { throw unavailable(`cannot purge twin "${id}"`, err); });
  }

  /** Every record of the twin's subject, in stream order (an ordered consumer reads them). */
  async records(id: string): Promise<TwinRecord[]> {
    const { seq } = await this.head(id);
    if (seq === 0) return [];
    const out: TwinRecord[] = [];
    try {
      const consumer = await this.#c.js.consumers.get(this.#c.names.stream, { filter_subjects: twinSubject(this.#c.names, id), deliver_policy: DeliverPolicy.All });
      for (;;) {
        const batch = await consumer.fetch({ max_messages: PULL_BATCH, expires: this.#timeoutMs });
        let last = 0;
        for await (const m of batch) {
          out.push(decodeValue<TwinRecord>(m.data));
          last = m.seq;
          if (m.seq >= seq || m.info.pending === 0) break;
        }
        if (last === 0 || last >= seq) break;
      }
      await consumer.delete().catch(() => undefined);
    } catch (err) {
      throw unavailable(`cannot read the history of twin "${id}"`, err);
    }
    return out;
  }

  /** The stream's last sequence now: what a read barrier waits for. */
  async lastSequence(): Promise<number> {
    const info = await this.#c.jsm.streams.info(this.#c.names.stream).catch((err: unknown) => { throw unavailable('cannot read the twin stream', err); });
    // Without a leader a replica answers with what it has, which may be behind: no barrier on that.
    if (info.cluster?.name !== undefined && !info.cluster.leader) throw unavailable('cannot read the twin stream', 'it has no leader (no quorum)');
    return info.state.last_seq;
  }

  static encode(record: TwinRecord): Uint8Array {
    return encodeValue(record);
  }
}

export function fenced(id: string, cause?: unknown): DoppelError {
  return new DoppelError('unavailable', `Twin "${id}" was changed by another writer: this copy is stale`, { details: { reason: 'fenced', twin: id }, cause });
}
