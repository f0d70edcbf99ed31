/**
 * @module
 * Picks the adapter for the runtime we are on. The only place that asks "Node or Deno?".
 */
import type { Runtime } from './types.ts';

export type { FetchHandler, HttpListener, Runtime, WsConnection, WsEndpoint } from './types.ts';

export async function loadRuntime(): Promise<Runtime> {
  // Deno support lands with its own adapter; until then every runtime gets the Node one.
  return (await import('./node.ts')).nodeRuntime;
}
