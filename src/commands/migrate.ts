/**
 * `doppel export` and `doppel import`: twins as NDJSON, one `{"id","desired","reported","tags"}`
 * per line, through the HTTP API of a running server, for migrations between servers and from
 * other twin platforms. Import also reads AWS IoT Device Shadow documents
 * (`{"thingName", "state": {"desired", "reported"}}`) and Azure IoT Hub device twins
 * (`{"deviceId", "tags", "properties": {"desired", "reported"}}`, `$`-metadata dropped).
 */
import type { Runtime } from '../runtime/types.ts';
import { parseArgs, stringFlag, usageError } from './args.ts';
import { ApiClient, CONNECTION_FLAGS, ProblemFailure, resolveToken, resolveUrl } from './http-client.ts';
import { reportingFailures } from './backup.ts';
import type { Command } from './types.ts';


type Doc = Record<string, unknown>;
export interface ImportedTwin { id: string; desired: Doc; reported: Doc; tags: Doc }

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Azure keeps `$metadata`/`$version` inside the property documents: not state. */
function withoutDollarKeys(doc: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('$')) out[k] = isObject(v) ? withoutDollarKeys(v) : v;
  return out;
}

/** One line of an import file as a twin, whichever shape it has; throws a message for a bad line. */
export function toImportedTwin(line: unknown): ImportedTwin {
  if (!isObject(line)) throw new Error('not a JSON object');
  const section = (v: unknown, what: string): Doc => {
    if (v === undefined || v === null) return {};
    if (!isObject(v)) throw new Error(`${what} is not an object`);
    return v;
  };
  if (isObject(line.properties) && typeof line.deviceId === 'string') {
    return {
      id: line.deviceId, tags: section(line.tags, 'tags'),
      desired: withoutDollarKeys(section(line.properties.desired, 'properties.desired')),
      reported: withoutDollarKeys(section(line.properties.reported, 'properties.reported')),
    };
  }
  if (isObject(line.state)) {
    const id = line.thingName ?? line.id;
    if (typeof id !== 'string') throw new Error('an AWS shadow document needs "thingName" (or "id") to name the twin');
    return { id, desired: section(line.state.desired, 'state.desired'), reported: section(line.state.reported, 'state.reported'), tags: section(line.tags, 'tags') };
  }
  if (typeof line.id !== 'string') throw new Error('no "id" (nor an AWS "state" or Azure "properties" document)');
  return { id: line.id, desired: section(line.desired, 'desired'), reported: section(line.reported, 'reported'), tags: section(line.tags, 'tags') };
}

const client = async (flags: Parameters<typeof resolveUrl>[0], runtime: Runtime, context: string) =>
  new ApiClient(resolveUrl(flags, runtime, context), () => resolveToken(flags, runtime, context));

export const exportCommand: Command = {
  summary: 'Export twins as NDJSON ({id, desired, reported, tags} per line) from a running server',
  usage: () => [
    'Usage: doppel export [<file>] [--prefix P] [--url U] [--token T] [--data D]',
    '',
    'Writes every twin (or those whose id starts with --prefix) as one JSON object per line, in id',
    'order, to <file> or stdout. Pages through GET /v1/twins; each page is current when read.',
    'doppel import reads it back, on this server or another.',
  ].join('\n'),
  run: (args, runtime) => reportingFailures(runtime, async () => {
    const { flags, positionals } = parseArgs(args, { ...CONNECTION_FLAGS, prefix: 'string' }, 'export');
    if (positionals.length > 1) throw usageError('export', 'name at most one output file');
    const api = await client(flags, runtime, 'export');
    const out = positionals[0] === undefined ? null : await runtime.createTextFile(positionals[0]);
    let n = 0;
    try {
      let cursor: string | undefined;
      do {
        const page = await api.call('GET', '/v1/twins', { query: { limit: 1000, cursor, prefix: stringFlag(flags, 'prefix') } }) as { items: Doc[]; next: string | null };
        let text = '';
        for (const t of page.items) text += `${JSON.stringify({ id: t.id, desired: t.desired, reported: t.reported, tags: t.tags })}\n`;
        if (out === null) { if (text !== '') runtime.writeStdout(text.slice(0, -1)); } else await out.write(text);
        n += page.items.length;
        cursor = page.next ?? undefined;
      } while (cursor !== undefined);
    } finally {
      await out?.close();
    }
    if (out !== null) runtime.writeStdout(`exported ${n} twins to ${positionals[0]}`);
    return 0;
  }),
};

export const importCommand: Command = {
  summary: 'Import twins from NDJSON (ours, AWS shadow or Azure twin documents) into a running server',
  usage: () => [
    'Usage: doppel import <file> [--skip-existing] [--url U] [--token T] [--data D]',
    '',
    'One JSON object per line, any of:',
    '  {"id": "t1", "desired": {…}, "reported": {…}, "tags": {…}}          (doppel export)',
    '  {"thingName": "t1", "state": {"desired": {…}, "reported": {…}}}     (AWS IoT Device Shadow)',
    '  {"deviceId": "t1", "tags": {…}, "properties": {"desired": {…}, "reported": {…}}}  (Azure IoT Hub)',
    'Each twin is created with its desired state and tags, then its reported state is written (so it',
    'starts at version 1 or 2). An id that already exists fails its line, or is skipped with',
    '--skip-existing. Every line is tried; the summary counts each outcome, exit 1 if any failed.',
  ].join('\n'),
  run: (args, runtime) => reportingFailures(runtime, async () => {
    const { flags, positionals } = parseArgs(args, { ...CONNECTION_FLAGS, 'skip-existing': 'boolean' }, 'import');
    const [file, extra] = positionals;
    if (file === undefined || extra !== undefined) throw usageError('import', 'name one input file: doppel import <file>');
    const api = await client(flags, runtime, 'import');
    const counts = { imported: 0, skipped: 0, failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const importLine = async (lineNo: number, text: string) => {
      let twin: ImportedTwin;
      try {
        twin = toImportedTwin(JSON.parse(text));
      } catch (err) {
        counts.failed++;
        runtime.writeStderr(`line ${lineNo}: ${(err as Error).message}`);
        return;
      }
      try {
        await api.call('POST', '/v1/twins', { body: { id: twin.id, desired: twin.desired, tags: twin.tags } });
        if (Object.keys(twin.reported).length > 0) await api.call('PATCH', `/v1/twins/${encodeURIComponent(twin.id)}/reported`, { body: twin.reported });
        counts.imported++;
      } catch (err) {
        if (err instanceof ProblemFailure && err.code === 'already_exists' && flags['skip-existing'] === true) { counts.skipped++; return; }
        if (!(err instanceof ProblemFailure)) throw err; // the server is gone: stop, do not report every line
        counts.failed++;
        runtime.writeStderr(`line ${lineNo} (${twin.id}): ${err.message}`);
      }
    };
    let lineNo = 0;
    for await (const text of runtime.readLines(file)) {
      lineNo++;
      if (text.trim() === '') continue;
      // A few requests in flight: much faster than one at a time, gentle on the server.
      const p = importLine(lineNo, text).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 8) await Promise.race(inFlight);
      if (lineNo % 10_000 === 0) runtime.writeStderr(`${lineNo} lines…`);
    }
    await Promise.all(inFlight);
    runtime.writeStdout(`imported ${counts.imported} twins, skipped ${counts.skipped} that exist, ${counts.failed} failed`);
    return counts.failed === 0 ? 0 : 1;
  }),
};
