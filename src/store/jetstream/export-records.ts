/**
 * `records()` of the JetStream store: the cluster's contents laid out as the LevelDB store's keys
 * (see ../keys.ts), so a backup taken from a cluster restores into a single node and the other way
 * round. Each twin is read from its subject (its last record, with its commands and job
 * done-marks, and its history), credentials, jobs and connectors from their buckets; all sorted by key as a
 * LevelDB iterator yields them.
 *
 * Not one snapshot: each twin is consistent in itself (its head and history come from one
 * subject), but a write landing during the export may be in it for one twin and not another.
 */
import { encodeValue } from '../codec.ts';
import { commandKey, connectorKey, credentialKey, FORMAT_KEY, FORMAT_VERSION, historyKey, jobKey, jobMarkKey, pendingKey, twinKey } from '../keys.ts';
import type { StoredConnector, StoredCredential } from '../types.ts';
import type { CredentialBucket } from './credentials.ts';
import type { JobBucket } from './jobs.ts';
import { foldHistory } from './record.ts';
import type { TwinStream } from './twin-stream.ts';

/**
 * Connector definitions travel too (as LevelDB's `n!` records, without the cluster's start
 * position); their undelivered backlog does not: a restore starts each connector afresh.
 */
export async function exportRecords(
  ids: string[], stream: TwinStream, credentials: CredentialBucket, jobs: JobBucket, connectors: readonly (StoredConnector & { startSeq?: number })[],
): Promise<{ key: string; value: Uint8Array }[]> {
  const out: { key: string; value: Uint8Array }[] = [{ key: FORMAT_KEY, value: encodeValue(FORMAT_VERSION) }];
  for (const id of ids) {
    const records = await stream.records(id);
    const last = records[records.length - 1];
    if (last === undefined) continue;
    if (last.state !== null) out.push({ key: twinKey(id), value: encodeValue(last.state) });
    if (last.pending !== null) out.push({ key: pendingKey(last.pending, id), value: encodeValue({}) });
    for (const command of last.commands ?? []) out.push({ key: commandKey(id, command.id), value: encodeValue(command) });
    for (const job of last.jobMarks ?? []) out.push({ key: jobMarkKey(job, id), value: encodeValue({}) });
    for (const event of foldHistory(records)) out.push({ key: historyKey(id, event.version), value: encodeValue(event) });
  }
  for (const kind of ['key', 'device'] as const satisfies StoredCredential['kind'][]) {
    for (const c of await credentials.list(kind)) out.push({ key: credentialKey(kind, c.id), value: encodeValue(c) });
  }
  for (const job of await jobs.list()) out.push({ key: jobKey(job.id), value: encodeValue(job) });
  for (const { startSeq: _, ...connector } of connectors) out.push({ key: connectorKey(connector.id), value: encodeValue(connector) });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
