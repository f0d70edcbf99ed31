/** Shared steps of the command tests: a twin with its device token, and a scoped API key. */
import type { TestServer } from '../support/server.ts';
import { expectJson } from '../http/helpers.ts';
import type { Json } from '../http/helpers.ts';

export type CommandJson = { id: string; name: string; payload: unknown; status: string; result?: unknown; createdAt: string; updatedAt: string; expiresAt?: string };

/** Creates twin `id` and returns its device token. */
export async function twinWithToken(t: TestServer, id: string): Promise<string> {
  await expectJson(await t.call('POST', '/v1/twins', { body: { id } }), 201);
  return (await expectJson<{ token: string }>(await t.call('POST', `/v1/twins/${id}/token`), 201)).token;
}

export async function apiKey(t: TestServer, scopes: string[], prefix?: string): Promise<string> {
  const body: Json = { name: 'cmd-test', scopes, ...(prefix === undefined ? {} : { prefix }) };
  return (await expectJson<{ token: string }>(await t.call('POST', '/v1/keys', { body }), 201)).token;
}

/** Queues a command and returns it (202 expected). */
export async function queue(t: TestServer, twin: string, body: Json, token?: string): Promise<CommandJson> {
  return expectJson<CommandJson>(await t.call('POST', `/v1/twins/${twin}/commands`, { body, ...(token === undefined ? {} : { token }) }), 202);
}
