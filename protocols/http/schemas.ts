/**
 * The zod schemas of the HTTP API: they validate requests at the edge and, through
 * `z.toJSONSchema`, generate the OpenAPI document, so docs and validation cannot drift apart.
 */
import { z } from 'zod';

export const TwinId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1–128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit')
  .describe('Twin id').meta({ example: 'thermo-42' });
export const JsonDocument = z.record(z.string(), z.unknown()).describe('A JSON object');
/**
 * A document in a request: passed through untouched (by reference) so the twin core validates the
 * real thing. zod's record parser would silently drop `__proto__` keys and answer wrong types with
 * `invalid_request`, where the contract wants `invalid_document`.
 */
const DocumentInput = (description: string) => z.unknown().meta({ type: 'object', additionalProperties: true, description });
export const ClientToken = z.string().min(1).max(64).describe('Echoed in the reply and in the change event');
export const Version = z.number().int().min(1);
const Timestamp = z.string().describe('ISO-8601 time');
export const Scope = z.enum(['twins:read', 'twins:write', 'keys:admin']);

export const CreateTwinBody = z.object({
  id: TwinId,
  desired: DocumentInput('Initial desired state').optional(),
  tags: DocumentInput('Initial tags').optional(),
  clientToken: ClientToken.optional(),
}).strict().meta({ id: 'CreateTwin' });

export const PatchTwinBody = z.object({
  desired: DocumentInput('JSON Merge Patch of desired; null clears it').optional(),
  tags: DocumentInput('JSON Merge Patch of tags; null clears them').optional(),
  clientToken: ClientToken.optional(),
}).strict().meta({ id: 'PatchTwin' });

export const ReportedPatchBody = DocumentInput('JSON Merge Patch of reported').meta({ id: 'ReportedPatch' });

const limitParam = (dflt: number) => z.coerce.number().int().min(1).max(1000).default(dflt);

export const ListQuery = z.object({
  limit: limitParam(100).describe('Page size, 1–1000'),
  cursor: z.string().max(400).optional().describe('The `next` of the previous page'),
  prefix: z.string().max(128).optional().describe('Only ids starting with this'),
  filter: z.string().max(2048).optional().describe('Filter expression, e.g. reported.temp > 30'),
});

export const GetQuery = z.object({
  fields: z.string().max(1024).optional().describe('Comma-separated fields or dot paths, e.g. desired,delta'),
});

export const HistoryQuery = z.object({
  since: z.coerce.number().int().min(0).default(0).describe('Return events after this version'),
  limit: limitParam(100).describe('At most this many events, 1–1000'),
});

export const ReportedQuery = z.object({ clientToken: ClientToken.optional() });

export const CreateKeyBody = z.object({
  name: z.string().max(100).optional(),
  scopes: z.array(Scope).min(1),
  prefix: z.string().max(128).optional().describe('Limit the key to twin ids starting with this'),
}).strict().meta({ id: 'CreateKey' });

const Metadata = z.record(z.string(), z.unknown()).describe('Mirrors the document leaf by leaf: {"temp": {"updatedAt": "…"}}');

export const TwinSchema = z.object({
  id: TwinId,
  version: Version,
  desired: JsonDocument,
  reported: JsonDocument,
  delta: JsonDocument.describe('Leaves of desired that differ from reported'),
  tags: JsonDocument,
  metadata: z.object({ desired: Metadata, reported: Metadata }),
  sync: z.object({ inSync: z.boolean(), pendingSince: Timestamp.optional() }),
  connection: z.object({ online: z.boolean(), via: z.enum(['http', 'coap', 'ws', 'system']).nullable(), lastSeenAt: Timestamp.nullable() }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  clientToken: ClientToken.optional(),
}).meta({ id: 'Twin' });

export const DeviceViewSchema = z.object({
  version: Version, desired: JsonDocument, reported: JsonDocument, delta: JsonDocument, clientToken: ClientToken.optional(),
}).meta({ id: 'DeviceView' });

export const ChangeEventSchema = z.object({
  twin: TwinId, version: Version, at: Timestamp, via: z.enum(['http', 'coap', 'ws', 'system']),
  clientToken: ClientToken.optional(),
  patch: z.object({ desired: JsonDocument.optional(), reported: JsonDocument.optional(), tags: JsonDocument.optional() }),
  delta: JsonDocument,
}).meta({ id: 'ChangeEvent' });

export const TwinPage = z.object({ items: z.array(TwinSchema), next: z.string().nullable() }).meta({ id: 'TwinPage' });
export const HistoryPage = z.object({ items: z.array(ChangeEventSchema), next: z.number().int().nullable() }).meta({ id: 'HistoryPage' });
export const KeySchema = z.object({
  id: z.string(), name: z.string().nullable(), scopes: z.array(Scope), prefix: z.string().nullable(), createdAt: Timestamp,
}).meta({ id: 'ApiKey' });
export const CreatedKey = KeySchema.extend({ token: z.string().describe('Shown once') }).meta({ id: 'CreatedKey' });
export const KeyList = z.object({ items: z.array(KeySchema) }).meta({ id: 'KeyList' });
export const TokenReply = z.object({ token: z.string().describe('Shown once: the device token') }).meta({ id: 'DeviceToken' });
export const Problem = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), code: z.string(),
  instance: z.string().optional(), details: z.record(z.string(), z.unknown()).optional(),
}).meta({ id: 'Problem' });
export const Health = z.object({ status: z.string() }).meta({ id: 'Health' });
