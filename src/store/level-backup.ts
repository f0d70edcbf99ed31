/**
 * @module
 * Whole-store snapshots for backups: every record as stored, from one consistent snapshot, and the
 * restore that writes such records into a new store. The line format is in `backup.ts`.
 */
import { DoppelError, fail } from '../errors.ts';
import { FORMAT_KEY } from './keys.ts';
import { levelAt } from './level-open.ts';
import type { LevelDb } from './level-open.ts';
import type { LevelOp } from './level-write.ts';
import { reasonOf } from './store-errors.ts';

/** Every record in key order; `db` is asked for on the first pull (it throws when the store is not open). */
export async function* snapshotRecords(db: () => LevelDb): AsyncIterable<{ key: string; value: Uint8Array }> {
  const level = db();
  // A LevelDB iterator reads from the snapshot taken when it was created.
  for await (const [key, value] of level.iterator()) yield { key, value };
}

/**
 * Writes a backup's records into a new store at `path`, refusing a directory that already holds
 * one (restore never merges). The records go in batches; the format marker is among them, and
 * `open` afterwards checks (and, for an older backup, migrates) it.
 */
export async function restoreStore(path: string, records: AsyncIterable<{ key: string; value: Uint8Array }>, onProgress?: (written: number) => void): Promise<number> {
  const db = levelAt(path);
  try {
    await db.open();
  } catch (err) {
    throw new DoppelError('unavailable', `Cannot open "${path}": ${reasonOf(err)}`, { cause: err });
  }
  try {
    const [anyKey] = await db.keys({ limit: 1 }).all();
    if (anyKey !== undefined) throw fail('invalid_request', `"${path}" already holds a store: restore only into an empty data directory`);
    let batch: LevelOp[] = [];
    let written = 0;
    let format = false;
    for await (const r of records) {
      if (r.key === FORMAT_KEY) format = true;
      batch.push({ type: 'put', key: r.key, value: r.value });
      if (batch.length >= 1000) { await db.batch(batch); written += batch.length; batch = []; onProgress?.(written); }
    }
    if (!format) throw fail('invalid_request', 'The backup holds no store format marker');
    await db.batch(batch, { sync: true });
    written += batch.length;
    return written;
  } finally {
    await db.close();
  }
}
