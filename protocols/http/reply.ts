/**
 * Replies of the hot routes (twin GET and PATCH), built with their headers as a plain object: the
 * Node adapter (@hono/node-server) then writes them without building a `Headers` object and
 * turning it back into a record, which `c.json` after `c.header` costs on every request.
 */
import type { Ctx } from './route.ts';

/** A JSON reply carrying the request id, marked as such on `c` for the request pipeline (pipeline.ts). */
export function jsonReply(c: Ctx, body: string, headers: Record<string, string>, status = 200): Response {
  const response = new Response(body, { status, headers: { 'content-type': 'application/json', 'x-request-id': c.get('requestId'), ...headers } });
  c.set('stamped', response);
  return response;
}
