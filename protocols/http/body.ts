/**
 * Request bodies: the size limit is enforced while reading (before any parsing), the content type
 * must be JSON, and malformed JSON is `invalid_request`. Deep validation of the document happens in
 * the twin core; zod checks the envelope.
 */
import type { z } from 'zod';
import { DoppelError } from '../../src/errors.ts';
import { describeIssue } from '../../src/zod-issue.ts';

// JSON and JSON Merge Patch only: a JSON Patch (RFC 6902) body must not be applied as a merge patch.
const JSON_TYPE = /^application\/(?:merge-patch\+)?json\s*(?:;|$)/i;

/** Reads and parses a JSON body of at most `maxBytes`. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type');
  if (type !== null && type !== '' && !JSON_TYPE.test(type)) {
    throw new DoppelError('unsupported_format', `Unsupported content type "${type}": send application/json or application/merge-patch+json`);
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  // With a declared length the adapter can hand over the body without building a web stream
  // (much cheaper on @hono/node-server); only chunked bodies need counting while reading.
  const bytes = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readLimited(request, maxBytes);
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  if (bytes.length === 0) throw new DoppelError('invalid_request', 'Request body is empty: expected a JSON object');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DoppelError('invalid_request', 'Request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DoppelError('invalid_request', `Malformed JSON: ${(err as Error).message}`);
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

const tooLarge = (max: number) => new DoppelError('too_large', `Request body too large: the limit is ${max} bytes`, { details: { section: 'body', limit: max } });

/** Validates `value` with a zod schema; failures become `invalid_request` naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new DoppelError('invalid_request', describeIssue(issue, what, value), { details: { path: issue.path.map(String) } });
}
