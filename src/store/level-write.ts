/**
 * @module
 * The LevelDB side of a commit: store ops encoded into LevelDB writes (string keys, CBOR bytes),
 * and the one call that writes a batch of them.
 */
import type { Level } from 'level';
import { encodeValue } from './codec.ts';
import { keyWriteOf } from './keys.ts';
import type { EncodedCommit, WriteBatch } from './group-commit.ts';
import type { StoreOp } from './types.ts';

/** One LevelDB write, in the database's own key and value formats. */
export type LevelOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * Encodes one commit. Encoding at `commit` time snapshots the documents: a caller mutating them
 * afterwards cannot change what is written, and a bad op fails its own commit, not a whole batch.
 */
export function encodeOps(ops: StoreOp[]): EncodedCommit<LevelOp> {
  const out: LevelOp[] = new Array(ops.length);
  // Key length in UTF-16 units: exact for our ASCII keys, and only feeds a metric anyway.
  let bytes = 0;
  for (let i = 0; i < ops.length; i++) {
    const w = keyWriteOf(ops[i]!);
    if (w.type === 'put') {
      const value = encodeValue(w.value);
      out[i] = { type: 'put', key: w.key, value };
      bytes += w.key.length + value.byteLength;
    } else {
      out[i] = w;
      bytes += w.key.length;
    }
  }
  return { ops: out, bytes };
}

/**
 * The batch write the group-commit writer uses, resolved once per opened database. `db.batch()`
 * copies and re-validates every op and runs the encodings and hooks (a tenth of the CoAP update
 * path's CPU in profiles); our ops are already encoded (string keys and byte values, the
 * database's own formats) and unhooked, so the writer calls the implementation's `_batch`
 * (abstract-level's documented implementer API) directly, falling back to `batch` where there is
 * none. The store's own state guards stand in for abstract-level's open check: the writer only
 * runs while the store is open.
 */
export function writeBatchOf(db: Level<string, Uint8Array>): WriteBatch<LevelOp> {
  const impl = db as unknown as { _batch?: (ops: LevelOp[], options: { sync: boolean }) => Promise<void> };
  // Called through the instance each time (not bound once), so the method stays the one in place.
  return typeof impl._batch === 'function' ? (ops, options) => impl._batch!(ops, options) : (ops, options) => db.batch(ops, options);
}
