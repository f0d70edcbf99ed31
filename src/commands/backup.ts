/**
 * `doppel backup <file>` and `doppel restore <file> --data <dir>`. A backup is taken online from a
 * running server (`GET /v1/backup`: one consistent snapshot while it keeps serving), or with
 * `--offline` straight from a stopped server's data directory. A restore writes into an empty data
 * directory only, checking the file completely as it goes (header, every record, the trailer's
 * count), and then opens the result as the server would.
 */
import { DoppelError, isDoppelError } from '../errors.ts';
import { linesOf } from '../runtime/lines.ts';
import type { Runtime } from '../runtime/types.ts';
import { storeOpenFailure } from '../startup-failure.ts';
import { parseArgs, stringFlag, usageError } from './args.ts';
import { ClientFailure, CONNECTION_FLAGS, isClientFailure, resolveToken, resolveUrl } from './http-client.ts';
import type { Command } from './types.ts';


/** Runs `body`, reporting a failure to reach or use the server as one line (exit 1). */
export async function reportingFailures(runtime: Runtime, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!isClientFailure(err)) throw err;
    runtime.writeStderr(`doppel: ${err.message}`);
    return 1;
  }
}

export const backupCommand: Command = {
  summary: 'Back up the store to a file: online from a running server, or --offline from --data',
  usage: () => [
    'Usage: doppel backup <file> [--url U] [--token T] [--data D]',
    '       doppel backup <file> --offline [--data D]',
    '',
    'Online (default): downloads GET /v1/backup from the server at --url (DOPPEL_URL, default',
    'http://127.0.0.1:8080) with the admin token (--token, DOPPEL_TOKEN, or <data>/admin-token): one',
    'consistent snapshot of twins, history and hashed credentials, taken while the server runs.',
    '--offline reads <data>/db directly; the server must be stopped (LevelDB allows one process).',
    'The file (mode 0600) is NDJSON with a counted trailer; restore it with doppel restore.',
  ].join('\n'),
  run: (args, runtime) => reportingFailures(runtime, async () => {
    const { flags, positionals: positional } = parseArgs(args, { ...CONNECTION_FLAGS, offline: 'boolean' }, 'backup');
    const [file, extra] = positional;
    if (file === undefined || extra !== undefined) throw usageError('backup', 'name one output file: doppel backup <file>');
    const started = performance.now();
    const { backupLines, createLevelStore, readBackup } = await import('../store/index.ts'); // LevelDB only when used
    let lines: AsyncIterable<string>;
    let closeSource = async () => {};
    if (flags.offline === true) {
      const data = stringFlag(flags, 'data') ?? runtime.env.DOPPEL_DATA ?? './data';
      const path = runtime.joinPath(data, 'db');
      // LevelDB would create an empty store where there is none: a mistyped --data would back up nothing.
      if (!await runtime.exists(path)) throw new DoppelError('not_found', `doppel backup: no store in ${data} (no ${path}): is --data right?`);
      const store = createLevelStore({ path });
      await store.open().catch((err: unknown) => { throw storeOpenFailure(err, data, 'back it up online (leave out --offline), or stop that server first'); });
      closeSource = () => store.close();
      lines = backupLines(store.records(), new Date());
    } else {
      const url = resolveUrl(flags, runtime, 'backup');
      const { token } = await resolveToken(flags, runtime, 'backup');
      const response = await fetch(`${url}/v1/backup`, { headers: { authorization: `Bearer ${token}` } }).catch((err: unknown) => {
        throw new ClientFailure(`cannot reach the server at ${url} (${String((err as Error).message)}): is it running? For a stopped server use --offline`);
      });
      if (response.status !== 200 || response.body === null) {
        const problem = await response.json().catch(() => ({})) as { code?: string; detail?: string };
        runtime.writeStderr(`doppel: backup refused: ${problem.code ?? response.status}: ${problem.detail ?? response.statusText}`);
        return 1;
      }
      lines = linesOf(response.body);
    }
    // Written beside the file and renamed once complete: a backup cut short never replaces a good
    // one of the same name (yesterday's, say) and leaves nothing behind.
    const partial = `${file}.partial`;
    const out = await runtime.createTextFile(partial, { secret: true });
    let records = 0;
    let complete = false;
    try {
      // Re-read as it is written: a download cut short fails here, not at restore time.
      const checked = readBackup((async function* () {
        for await (const line of lines) { await out.write(`${line}\n`); yield line; }
      })());
      for await (const _record of checked) records++;
      complete = true;
    } catch (err) {
      // The connection dropped mid-download (fetch says "terminated"): say so, not as a stack trace.
      if (flags.offline === true || isDoppelError(err)) throw err;
      throw new ClientFailure(`backup cut short after ${records} records (${(err as Error).message}): ${file} was left as it was; try again`);
    } finally {
      await out.close();
      await closeSource();
      if (!complete) await runtime.removeTree(partial);
    }
    await runtime.rename(partial, file);
    runtime.writeStdout(`backed up ${records} records to ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  }),
};

export const restoreCommand: Command = {
  summary: 'Restore a backup into an empty data directory (the server must not be running on it)',
  usage: () => [
    'Usage: doppel restore <file> [--data D]',
    '',
    'Writes the records of a backup (doppel backup) into <data>/db (--data, DOPPEL_DATA, ./data),',
    'which must not hold a store yet. The whole file is checked (header, records, trailer count);',
    'a bad or truncated file stops the restore. The admin token is not part of a backup: start the',
    'server with DOPPEL_ADMIN_TOKEN, or let it generate a new one.',
  ].join('\n'),
  async run(args, runtime) {
    const { flags, positionals: positional } = parseArgs(args, { data: 'string' }, 'restore');
    const [file, extra] = positional;
    if (file === undefined || extra !== undefined) throw usageError('restore', 'name one backup file: doppel restore <file> --data <dir>');
    const data = stringFlag(flags, 'data') ?? runtime.env.DOPPEL_DATA ?? './data';
    // Before anything is created: a mistyped file name leaves no empty data directory behind.
    if (!await runtime.exists(file)) throw new DoppelError('not_found', `doppel restore: no backup file ${file}`);
    const { createLevelStore, readBackup, restoreStore } = await import('../store/index.ts');
    await runtime.mkdirp(data);
    const started = performance.now();
    const path = runtime.joinPath(data, 'db');
    const fresh = !await runtime.exists(path);
    const written = await restoreStore(path, readBackup(runtime.readLines(file)), (n) => {
      if (n % 100_000 === 0) runtime.writeStderr(`restored ${n} records…`);
    }).catch(async (err: unknown) => {
      // Records are written in batches as the file is read, so a bad line or a cut file found late
      // would leave part of a store behind, which a server could open and a retry would refuse.
      if (fresh) await runtime.removeTree(path);
      throw storeOpenFailure(err, data, 'stop that server; restore only into an empty data directory');
    });
    // Open it as the server will: checks the format marker (and migrates an older backup).
    const store = createLevelStore({ path });
    await store.open();
    let twins = 0;
    for await (const _twin of store.listTwins({})) twins++;
    await store.close();
    runtime.writeStdout(`restored ${written} records (${twins} twins) into ${data} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  },
};
