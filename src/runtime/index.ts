/**
 * @module
 * Picks the adapter for the runtime we are on. The only place that asks "Node or Deno?".
 */
import type { Runtime } from './types.ts';

export type { FetchHandler, HttpListener, Runtime, WsConnection, WsEndpoint } from './types.ts';

export async function loadRuntime(): Promise<Runtime> {
  // Deno 2 also defines `process`, so test for Deno itself; each adapter is imported only on its
  // runtime (the Node one pulls in @hono/node-server and ws, which Deno never needs).
  if ('Deno' in globalThis) return (await import('./deno.ts')).denoRuntime;
  return (await import('./node.ts')).nodeRuntime;
}
