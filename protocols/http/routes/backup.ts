/**
 * `GET /v1/backup` (admin token only): a consistent snapshot of the whole store, streamed as the
 * NDJSON backup format (src/store/backup.ts) while the server keeps serving. `doppel backup`
 * downloads it; `doppel restore` writes it into an empty data directory.
 */
import type { Hono } from 'hono';
import { DoppelError } from '../../../src/errors.ts';
import { backupLines } from '../../../src/store/index.ts';
import type { TwinStore } from '../../../src/store/index.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { problems } from './problems.ts';

const encoder = new TextEncoder();

export function backupRoutes(app: Hono<Env>, table: RouteTable, deps: { store: TwinStore; now: () => Date }): void {
  register(app, table, {
    method: 'get', path: '/v1/backup', tag: 'Operations', auth: 'bearer', summary: 'Back up the store (admin)',
    description: 'Every stored record (twins, history, pending index, hashed credentials) from one consistent snapshot, as NDJSON: a header line, one `{"k","v"}` line per record (v: base64 of the stored value), a trailer with the record count. Admin token only. Restore with `doppel restore <file> --data <empty dir>`.',
    responses: { 200: { description: 'The backup', contentType: 'application/x-ndjson' }, ...problems(401, 403) },
  }, (c) => {
    if (c.get('principal').kind !== 'admin') throw new DoppelError('forbidden', 'Only the admin token may take a backup');
    // The snapshot is taken now (the iterator is created on the first pull, right away below).
    const lines = backupLines(deps.store.records(), deps.now())[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // Several lines per chunk: one enqueue per record would cost more than the records.
        let chunk = '';
        while (chunk.length < 64 * 1024) {
          const next = await lines.next();
          if (next.done === true) { if (chunk !== '') controller.enqueue(encoder.encode(chunk)); controller.close(); return; }
          chunk += `${next.value}\n`;
        }
        controller.enqueue(encoder.encode(chunk));
      },
      async cancel() { await lines.return?.(); },
    });
    const stamp = deps.now().toISOString().replace(/[:.]/g, '-');
    return new Response(body, {
      headers: {
        'content-type': 'application/x-ndjson', 'cache-control': 'no-store',
        'content-disposition': `attachment; filename="doppel-backup-${stamp}.ndjson"`,
        'x-request-id': c.get('requestId'),
      },
    });
  });
}
