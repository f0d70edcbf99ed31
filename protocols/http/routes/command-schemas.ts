/** zod schemas of the command routes: the edge's validation and their OpenAPI description. */
import { z } from 'zod';
import { MAX_TTL_SECONDS } from '../../../src/twin/commands.ts';
import { ClientToken } from '../schemas.ts';

export const CommandId = z.string().regex(/^[0-9a-z]{1,32}$/, 'must be a command id (lowercase letters and digits)');

const Status = z.enum(['queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled']);

export const InvokeBody = z.object({
  name: z.string().describe('1–64 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit'),
  payload: z.unknown().optional().describe('Any JSON value, at most 32 KiB'),
  ttlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS).optional().describe('Queued command: kept for the device this long (1–2592000). Without it the command is direct'),
  timeoutMs: z.number().int().min(1000).max(300_000).optional().describe('Direct command: how long to wait for the answer (default 30000)'),
  clientToken: ClientToken.optional().describe('Idempotency: a second invocation with the same token on this twin returns the first command'),
}).strict().refine((b) => b.ttlSeconds === undefined || b.timeoutMs === undefined, { message: 'give ttlSeconds (queued) or timeoutMs (direct), not both' });

export const AnswerBody = z.object({
  status: z.enum(['succeeded', 'failed']),
  result: z.unknown().optional().describe('Any JSON value, at most 32 KiB'),
}).strict();

export const ListCommandsQuery = z.object({ status: Status.optional().describe('Only commands in this status') });

export const WaitQuery = z.object({
  waitMs: z.coerce.number().int().min(0).max(60_000).default(0).describe('Long poll: answer once the command ends or after this many ms (≤ 60000)'),
});

export const CommandSchema = z.object({
  id: CommandId, name: z.string(), payload: z.unknown(), status: Status, result: z.unknown().optional(),
  createdAt: z.string(), updatedAt: z.string(), expiresAt: z.string().optional(),
});

export const CommandList = z.object({ items: z.array(CommandSchema) });
