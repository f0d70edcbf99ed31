/**
 * @module
 * Opening a LevelDB store: the database itself, then its format marker, which says what key
 * layout the data uses. A new directory gets the current format; an older format is migrated; a
 * newer or unknown one, or data without a marker, is refused rather than misread.
 */
import { Level } from 'level';
import { DoppelError, fail, isDoppelError } from '../errors.ts';
import type { TwinState } from '../twin/types.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { FORMAT_KEY, FORMAT_VERSION, pendingKey, twinRange } from './keys.ts';
import type { LevelOp } from './level-write.ts';
import { reasonOf } from './store-errors.ts';

/** A Doppel database: string keys, values as stored (CBOR bytes). */
export type LevelDb = Level<string, Uint8Array>;

/** The database at `path`, not yet open (a Level opens itself on the next tick unless awaited). */
export function levelAt(path: string): LevelDb {
  return new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
}

/** Opens the store at `path` (created if missing) and checks or migrates its format. */
export async function openLevel(path: string): Promise<LevelDb> {
  // Constructed here, not in the store's constructor: a Level opens itself on the next tick, and
  // a store that is created but never opened must not take the directory's lock.
  const db = levelAt(path);
  try {
    await db.open();
  } catch (err) {
    throw new DoppelError('unavailable', `Cannot open store at "${path}": ${reasonOf(err)}`, { cause: err });
  }
  try {
    await checkFormat(db, path);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw isDoppelError(err) ? err : new DoppelError('unavailable', `Cannot open store at "${path}": ${reasonOf(err)}`, { cause: err });
  }
  return db;
}

async function checkFormat(db: LevelDb, path: string): Promise<void> {
  const raw = await db.get(FORMAT_KEY);
  if (raw === undefined) {
    const [anyKey] = await db.keys({ limit: 1 }).all();
    if (anyKey !== undefined) {
      throw fail('unavailable', `Cannot open store at "${path}": it holds data but no format marker, so it is not a Doppel store`);
    }
    await db.put(FORMAT_KEY, encodeValue(FORMAT_VERSION), { sync: true });
    return;
  }
  const format = decodeValue<unknown>(raw);
  if (format === FORMAT_VERSION) return;
  if (format === 1) { await migrateToPendingIndex(db); return; }
  const newer = typeof format === 'number' && format > FORMAT_VERSION;
  throw fail(
    'unavailable',
    newer
      ? `Cannot open store at "${path}": its format ${format} is newer than this Doppel supports (${FORMAT_VERSION}); upgrade Doppel`
      : `Cannot open store at "${path}": unknown format "${String(format)}"`,
    { format, supported: FORMAT_VERSION },
  );
}

/**
 * Format 1 → 2: builds the pending index (`p!…`) from the stored twins. Idempotent, and the format
 * marker is written last, so a crash midway only means the next open runs it again.
 */
async function migrateToPendingIndex(db: LevelDb): Promise<void> {
  let batch: LevelOp[] = [];
  for await (const raw of db.values(twinRange({}))) {
    const twin = decodeValue<TwinState>(raw);
    if (twin.pendingSince !== null) batch.push({ type: 'put', key: pendingKey(twin.pendingSince, twin.id), value: encodeValue({}) });
    if (batch.length >= 1000) { await db.batch(batch); batch = []; }
  }
  batch.push({ type: 'put', key: FORMAT_KEY, value: encodeValue(FORMAT_VERSION) });
  await db.batch(batch, { sync: true });
}
