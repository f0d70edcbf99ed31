/**
 * What clients send (CONTRACT §7), as zod schemas; the TypeScript types flow from them. Parsing
 * never throws: a frame that is not JSON, not an object, has an unknown `op` or a bad field yields
 * an `invalid_request` error carrying the `ref` when one could be read, so the reply can echo it
 * and the connection stays usable.
 */
import { z } from 'zod';
import { DoppelError } from '../../src/errors.ts';
import { describeIssue } from '../../src/zod-issue.ts';

/** A client-chosen correlation value, echoed as is. */
const Ref = z.union([z.string().max(256), z.number().finite()]);
export type Ref = z.infer<typeof Ref>;

/**
 * Documents are passed through untouched: the twin core validates them, so a wrong type or a
 * forbidden key is `invalid_document` exactly as over HTTP (and `null` clears a section).
 */
const Document = z.unknown();
const ClientToken = z.string().min(1).max(64);
const Version = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
// Ids are checked with the core's assertTwinId by the handlers, for the same messages as HTTP.
const Id = z.string().max(1024);
const Ids = z.array(Id).min(1);
const Prefix = z.string().max(128);
/** `{twin id: last version the client has}`; 0 replays from the first event. */
const Since = z.record(z.string(), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER));

const SubscribeMessage = z.object({
  op: z.literal('subscribe'), ref: Ref.optional(), twins: Ids.optional(), prefix: Prefix.optional(), since: Since.optional(),
}).strict();
const UnsubscribeMessage = z.object({
  op: z.literal('unsubscribe'), ref: Ref.optional(), twins: Ids.optional(), prefix: Prefix.optional(),
}).strict();
const GetMessage = z.object({
  // A device session may leave `twin` out: it can only mean its own.
  op: z.literal('get'), ref: Ref.optional(), twin: Id.optional(),
}).strict();
const PatchMessage = z.object({
  op: z.literal('patch'), ref: Ref.optional(), twin: Id, desired: Document.optional(), tags: Document.optional(),
  ifVersion: Version.optional(), clientToken: ClientToken.optional(),
}).strict();
const ReportMessage = z.object({
  op: z.literal('report'), ref: Ref.optional(), twin: Id.optional(), reported: Document,
  ifVersion: Version.optional(), clientToken: ClientToken.optional(),
}).strict();
/** A device's answer to a command (`command` is its id); the first answer wins. */
const ResultMessage = z.object({
  op: z.literal('result'), ref: Ref.optional(), command: z.string().regex(/^[0-9a-z]{1,32}$/, 'must be a command id'),
  status: z.enum(['succeeded', 'failed']), result: z.unknown().optional(),
}).strict();

const SCHEMAS = {
  subscribe: SubscribeMessage,
  unsubscribe: UnsubscribeMessage,
  get: GetMessage,
  patch: PatchMessage,
  report: ReportMessage,
  result: ResultMessage,
} as const;

/** The client messages by `op` (read by the AsyncAPI document, `protocols/http/asyncapi.ts`). */
export const CLIENT_MESSAGES: Readonly<typeof SCHEMAS> = SCHEMAS;

export type Op = keyof typeof SCHEMAS;
export const OPS = Object.keys(SCHEMAS) as Op[];

export type SubscribeMessage = z.infer<typeof SubscribeMessage>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessage>;
export type GetMessage = z.infer<typeof GetMessage>;
export type PatchMessage = z.infer<typeof PatchMessage>;
export type ReportMessage = z.infer<typeof ReportMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type ClientMessage = SubscribeMessage | UnsubscribeMessage | GetMessage | PatchMessage | ReportMessage | ResultMessage;

export type Parsed =
  | { ok: true; op: Op; ref: Ref | undefined; message: ClientMessage }
  | { ok: false; op: Op | null; ref: Ref | undefined; error: DoppelError };

const isOp = (s: unknown): s is Op => typeof s === 'string' && Object.hasOwn(SCHEMAS, s);

/**
 * Parses one text frame.
 *
 * @example
 * parseMessage('{"op":"get","ref":"3","twin":"a"}'); // { ok: true, op: 'get', ref: '3', message: {…} }
 * parseMessage('{"op":"nope","ref":1}');             // { ok: false, ref: 1, error: invalid_request }
 */
export function parseMessage(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return invalid(null, undefined, `Malformed JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(null, undefined, 'Invalid message: expected a JSON object with an "op"');
  }
  const raw = value as Record<string, unknown>;
  const refResult = Ref.safeParse(raw.ref);
  const ref = refResult.success ? refResult.data : undefined;
  if (raw.ref !== undefined && !refResult.success) {
    return invalid(null, undefined, 'Invalid "ref": expected a string of at most 256 characters or a number');
  }
  const op = raw.op;
  if (!isOp(op)) {
    const shown = op === undefined ? 'Missing "op"' : `Unknown op ${JSON.stringify(op)}`;
    return invalid(null, ref, `${shown}: expected one of ${OPS.join(', ')}`);
  }
  const result = SCHEMAS[op].safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return invalid(op, ref, describeIssue(issue, `"${op}" message`, raw), { path: issue.path.map(String) });
  }
  const message = result.data as ClientMessage;
  // "Exactly one of" is clearer as its own message than as a zod union error.
  if (op === 'subscribe' || op === 'unsubscribe') {
    const m = message as SubscribeMessage | UnsubscribeMessage;
    if ((m.twins === undefined) === (m.prefix === undefined)) {
      return invalid(op, ref, `Invalid "${op}" message: give either "twins" or "prefix"`);
    }
  }
  return { ok: true, op, ref, message };
}

function invalid(op: Op | null, ref: Ref | undefined, message: string, details?: Record<string, unknown>): Parsed {
  return { ok: false, op, ref, error: new DoppelError('invalid_request', message, details === undefined ? {} : { details }) };
}
