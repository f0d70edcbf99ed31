/**
 * `/asyncapi.json`: the WebSocket API (`/v1/ws`) as an AsyncAPI 3.0 document. The client
 * messages' schemas are the zod schemas that parse them (`protocols/ws/messages.ts`), so the
 * document cannot drift from validation; the server messages are described here, from the twin
 * schemas the HTTP document uses too.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../../src/errors.ts';
import { CLIENT_MESSAGES } from '../ws/messages.ts';
import { WS_PATH } from '../ws/index.ts';
import { jsonSchema } from './openapi.ts';
import { ChangeEventSchema, DeviceViewSchema, TwinId, TwinSchema, Version } from './schemas.ts';

type Json = Record<string, unknown>;

const Ref = z.union([z.string(), z.number()]).optional().describe('The request\'s `ref`, echoed as given');
const Document = z.record(z.string(), z.unknown());

const CLIENT_SUMMARIES: Readonly<Record<keyof typeof CLIENT_MESSAGES, string>> = {
  subscribe: 'Follow twins by id (`twins`) or by id prefix (`prefix`); `since` resumes from the versions held',
  unsubscribe: 'Stop following twins or a prefix',
  get: 'Read a twin (a device may leave out `twin`: its own)',
  patch: 'Merge-patch a twin\'s desired state or tags (RFC 7396); `ifVersion` makes it conditional',
  report: 'Merge-patch reported state (devices; apps with the admin token)',
  result: 'A device\'s answer to a command: `command` (its id), `status` succeeded or failed, `result`; replied with `ok`',
};

/** What the server sends, by `op`. */
const SERVER_MESSAGES: Readonly<Record<string, { summary: string; schema: z.ZodType }>> = {
  subscribed: { summary: 'The subscription holds; snapshots or missed changes follow', schema: z.object({ op: z.literal('subscribed'), ref: Ref }) },
  unsubscribed: { summary: 'The subscription ended', schema: z.object({ op: z.literal('unsubscribed'), ref: Ref }) },
  twin: { summary: 'Reply to `get`: the public twin (a device gets its device view)', schema: z.object({ op: z.literal('twin'), ref: Ref, twin: z.union([TwinSchema, DeviceViewSchema]) }) },
  ok: {
    summary: 'Reply to `patch` and `report`: the new version (and for a report, the delta); to `result`: only the ref',
    schema: z.object({ op: z.literal('ok'), ref: Ref, version: Version.optional(), delta: Document.optional(), clientToken: z.string().optional() }),
  },
  snapshot: {
    summary: 'The whole twin: first message of a subscription, or `resync` when missed events left history (replace, do not merge)',
    schema: z.object({ op: z.literal('snapshot'), resync: z.literal(true).optional(), twin: TwinSchema }),
  },
  change: { summary: 'One change of a followed twin, in version order', schema: z.object({ op: z.literal('change'), event: ChangeEventSchema }) },
  deleted: { summary: 'A followed twin was deleted', schema: z.object({ op: z.literal('deleted'), twin: TwinId }) },
  command: {
    summary: 'To devices: an open command, on connect and whenever one is added (answer with `result`). To apps following the twin: the whole command (with `twin`) on every status change',
    schema: z.object({ op: z.literal('command'), twin: TwinId.optional(), command: z.object({ id: z.string(), name: z.string(), payload: z.unknown() }).loose() }),
  },
  delta: { summary: 'To devices: the delta, on connect and whenever it changes', schema: z.object({ op: z.literal('delta'), twin: TwinId, version: Version, delta: Document }) },
  error: {
    summary: 'A request failed (the connection stays open); `code` is a stable error code',
    schema: z.object({
      op: z.literal('error'), ref: Ref, code: z.enum(Object.keys(ERROR_CODES) as [string, ...string[]]), message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  },
};

export function asyncapiDocument(): Json {
  const schemas: Json = {};
  const messages: Json = {};
  const refs = (names: string[]) => names.map((name) => ({ $ref: `#/channels/ws/messages/${name}` }));
  const message = (name: string, summary: string, schema: z.ZodType, io: 'input' | 'output') => {
    messages[name] = { name, title: name, summary, contentType: 'application/json', payload: jsonSchema(schema, io, schemas, 'draft-7') };
  };
  const clientNames = Object.keys(CLIENT_MESSAGES).map((op) => `client.${op}`);
  for (const [op, schema] of Object.entries(CLIENT_MESSAGES)) message(`client.${op}`, CLIENT_SUMMARIES[op as keyof typeof CLIENT_MESSAGES], schema, 'input');
  const serverNames = Object.keys(SERVER_MESSAGES).map((op) => `server.${op}`);
  for (const [op, { summary, schema }] of Object.entries(SERVER_MESSAGES)) message(`server.${op}`, summary, schema, 'output');

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Doppel WebSocket API',
      version: '1',
      description: `JSON text frames on \`${WS_PATH}\` (the HTTP port). Credentials as over HTTP: \`Authorization: Bearer <token>\` `
        + 'or, from a browser, `?access_token=<token>`, checked on the handshake (401 / 429 there, never an open socket). '
        + 'Every request may carry a `ref` (string or number), echoed in its reply. A bad frame is answered with an `error`; '
        + 'the connection stays open. The HTTP API is at [/docs](/docs).',
    },
    channels: {
      ws: {
        address: WS_PATH,
        messages: Object.fromEntries([...clientNames, ...serverNames].map((name) => [name, { $ref: `#/components/messages/${name}` }])),
      },
    },
    operations: {
      request: { action: 'receive', channel: { $ref: '#/channels/ws' }, summary: 'Requests from apps and devices', messages: refs(clientNames) },
      push: { action: 'send', channel: { $ref: '#/channels/ws' }, summary: 'Replies and pushed events', messages: refs(serverNames) },
    },
    components: { messages, schemas },
  };
}
