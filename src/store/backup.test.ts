import { describe, expect, it } from 'vitest';
import { backupLines, readBackup } from './backup.ts';
import type { StoredRecord } from './backup.ts';
import { encodeValue } from './codec.ts';
import { FORMAT_KEY } from './keys.ts';

async function* from<T>(items: T[]): AsyncIterable<T> { yield* items; }
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> { const out: T[] = []; for await (const i of items) out.push(i); return out; }

const records: StoredRecord[] = [
  { key: FORMAT_KEY, value: encodeValue(2) },
  { key: 't!a', value: encodeValue({ id: 'a', desired: { é: '😀' } }) },
  { key: 'h!a!0000000001', value: new Uint8Array(70_000).map((_, i) => i % 256) }, // over one chunk of the base64 encoder
];

describe('backup format', () => {
  it('round-trips every record byte for byte, with a header and a counted trailer', async () => {
    const lines = await collect(backupLines(from(records), new Date('2026-01-01T00:00:00Z')));
    expect(JSON.parse(lines[0]!)).toMatchObject({ doppel: 'backup', version: 1, storeFormat: 2, createdAt: '2026-01-01T00:00:00.000Z' });
    expect(JSON.parse(lines.at(-1)!)).toEqual({ end: true, records: 3 });
    const plain = (rs: StoredRecord[]) => rs.map((r) => ({ key: r.key, bytes: [...r.value] }));
    expect(plain(await collect(readBackup(from(lines))))).toEqual(plain(records));
  });

  it('refuses a truncated file, a wrong count, a missing header, junk and content after the end', async () => {
    const lines = await collect(backupLines(from(records), new Date()));
    const read = (ls: string[]) => collect(readBackup(from(ls)));
    await expect(read(lines.slice(0, -1))).rejects.toThrow(/no trailer: the backup is truncated/);
    await expect(read([...lines.slice(0, -2), lines.at(-1)!])).rejects.toThrow(/trailer counts 3 records, the file holds 2/);
    await expect(read(lines.slice(1))).rejects.toThrow(/no backup header/);
    await expect(read([lines[0]!, 'not json', ...lines.slice(1)])).rejects.toThrow(/line 2: not JSON/);
    await expect(read([...lines, lines[1]!])).rejects.toThrow(/content after the trailer/);
    await expect(read([])).rejects.toThrow(/empty file/);
    await expect(read([lines[0]!, '{"k":"t!a","v":"%%%"}'])).rejects.toThrow(/not base64/);
  });

  it('refuses a backup from a newer store format or backup version', async () => {
    await expect(collect(readBackup(from(['{"doppel":"backup","version":1,"storeFormat":99}', '{"end":true,"records":0}'])))).rejects.toThrow(/newer than this Doppel supports/);
    await expect(collect(readBackup(from(['{"doppel":"backup","version":7,"storeFormat":2}'])))).rejects.toThrow(/backup version 7 is not supported/);
  });
});
