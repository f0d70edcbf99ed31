/**
 * Commands to devices over HTTP: integrators invoke (queued with `ttlSeconds`, else direct),
 * list, long-poll and cancel; gateways holding the device token list their twin's commands
 * (which delivers them) and post answers. Invoking and cancelling need `twins:write`, reading
 * `twins:read`; a device token reaches only its own twin.
 */
import type { Hono } from 'hono';
import { authorize } from '../../../src/auth/index.ts';
import { DoppelError } from '../../../src/errors.ts';
import { isEnded, publicCommand } from '../../../src/twin/commands.ts';
import type { Command } from '../../../src/twin/commands.ts';
import type { TwinService } from '../../../actors/index.ts';
import { parseWith, readJson } from '../body.ts';
import { register } from '../route.ts';
import type { Ctx, Env, RouteTable } from '../route.ts';
import { AnswerBody, CommandId, CommandList, CommandSchema, InvokeBody, ListCommandsQuery, WaitQuery } from './command-schemas.ts';
import { problems } from './problems.ts';
import { twinId } from './twins.ts';

const DEFAULT_DIRECT_TIMEOUT_MS = 30_000;
const TAG = 'Commands';

const commandId = (c: Ctx) => parseWith(CommandId, c.req.param('cid'), 'command id');
const json = (command: Command) => publicCommand(command);
/** A problem+json response entry with this route's own wording. */
const problem = (description: string) => ({ ...problems()[503]!, description });

export interface CommandRouteDeps {
  twins: TwinService;
  maxBodyBytes: number;
  /** Registers a hook run when the server starts draining (waiting requests answer then); returns its remover. */
  onShutdown: (hook: () => void) => () => void;
}

export function commandRoutes(app: Hono<Env>, table: RouteTable, deps: CommandRouteDeps): void {
  const commands = deps.twins.commands;
  /** Aborts when the client goes away or the server starts draining: a wait must not hold up either. */
  const waitSignal = (c: Ctx): { signal: AbortSignal; done: () => void } => {
    const draining = new AbortController();
    const remove = deps.onShutdown(() => draining.abort());
    return { signal: AbortSignal.any([c.req.raw.signal, draining.signal]), done: remove };
  };

  register(app, table, {
    method: 'post', path: '/v1/twins/:id/commands', tag: TAG, auth: 'bearer', summary: 'Send a command to the device',
    description: 'With `ttlSeconds` the command is **queued**: stored durably and delivered when the device next makes contact, until `expiresAt` (202 + Location). Without it the command is **direct**: sent at once to the device\'s live session (WebSocket device session or CoAP observation of its commands) and the request waits up to `timeoutMs` for the answer (200); no live session is 409 `device_offline`, no answer in time 504 `command_timeout` (the command ends `expired`).',
    body: InvokeBody,
    responses: {
      200: { description: 'Direct command answered: the command, succeeded or failed, with the device\'s result', schema: CommandSchema },
      202: { description: 'Queued command stored', schema: CommandSchema, headers: { Location: 'The command\'s URL' } },
      ...problems(400, 401, 403, 404, 413, 415, 429),
      409: problem('device_offline: a direct command, and the device has no live session'),
      504: problem('command_timeout: the device did not answer a direct command in time'),
    },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:write', id);
    const body = parseWith(InvokeBody, await readJson(c.req.raw, deps.maxBodyBytes), 'command');
    const init = { name: body.name, payload: body.payload, ...(body.ttlSeconds === undefined ? {} : { ttlSeconds: body.ttlSeconds }), ...(body.clientToken === undefined ? {} : { clientToken: body.clientToken }) };
    if (body.ttlSeconds !== undefined) {
      const { command } = await commands.invoke(id, init);
      c.header('location', `/v1/twins/${id}/commands/${command.id}`);
      return c.json(json(command), 202);
    }
    const timeoutMs = body.timeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS;
    const { command: sent } = await commands.invoke(id, init, timeoutMs);
    const wait = waitSignal(c);
    let command: Command;
    try {
      command = await commands.waitForEnd(id, sent.id, timeoutMs, wait.signal);
    } finally {
      wait.done();
    }
    if (!isEnded(command.status)) {
      // Cut short by a drain: the command stays open until its expiresAt (the device may still answer).
      if (wait.signal.aborted) throw new DoppelError('unavailable', `Server is shutting down: command "${sent.id}" stays open until ${sent.expiresAt}`, { details: { command: sent.id } });
      command = await commands.timeOut(id, sent.id);
    }
    if (command.status === 'expired') {
      throw new DoppelError('command_timeout', `Device "${id}" did not answer command "${sent.id}" within ${timeoutMs} ms`, { details: { command: sent.id } });
    }
    c.header('location', `/v1/twins/${id}/commands/${command.id}`);
    return c.json(json(command), 200);
  });

  register(app, table, {
    method: 'get', path: '/v1/twins/:id/commands', tag: TAG, auth: 'bearer', summary: 'List a twin\'s commands',
    description: 'Newest first; ended commands are kept at least 24 h. With the twin\'s device token (gateways) the listing delivers what it shows: `?status=queued` returns the commands not yet sent, now `delivered`.',
    query: ListCommandsQuery,
    responses: { 200: { description: 'The commands', schema: CommandList }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    const principal = c.get('principal');
    authorize(principal, 'device:read', id); // an API key needs twins:read; a device token its own twin
    const { status } = parseWith(ListCommandsQuery, c.req.query(), 'query');
    const items = principal.kind === 'device' ? await commands.listForDevice(id, status) : await commands.list(id, status);
    return c.json({ items: items.map(json) });
  });

  register(app, table, {
    method: 'get', path: '/v1/twins/:id/commands/:cid', tag: TAG, auth: 'bearer', summary: 'Get a command (long poll with waitMs)',
    description: 'The command; with `?waitMs=` the reply waits until the command ends or that many ms have passed (or the server starts draining), and then shows it, ended or not.',
    query: WaitQuery,
    responses: { 200: { description: 'The command', schema: CommandSchema }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'device:read', id);
    const cid = commandId(c);
    const { waitMs } = parseWith(WaitQuery, c.req.query(), 'query');
    // A plain read: no signal to combine, no shutdown hook to register.
    if (waitMs === 0) return c.json(json(await commands.get(id, cid)));
    const wait = waitSignal(c);
    try {
      return c.json(json(await commands.waitForEnd(id, cid, waitMs, wait.signal)));
    } finally {
      wait.done();
    }
  });

  register(app, table, {
    method: 'delete', path: '/v1/twins/:id/commands/:cid', tag: TAG, auth: 'bearer', summary: 'Cancel a command',
    description: 'Cancels a queued or delivered command; an ended one is 409 `command_ended`.',
    responses: { 200: { description: 'The command, cancelled', schema: CommandSchema }, ...problems(400, 401, 403, 404, 429), 409: problem('command_ended: it already ended') },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:write', id);
    return c.json(json(await commands.cancel(id, commandId(c))));
  });

  register(app, table, {
    method: 'post', path: '/v1/twins/:id/commands/:cid/result', tag: TAG, auth: 'bearer', summary: 'Answer a command (device)',
    description: 'The device\'s answer, with the twin\'s device token (or the admin token). The first answer wins: an answer to an ended command is 409 `command_ended`.',
    body: AnswerBody,
    responses: { 200: { description: 'The command, ended', schema: CommandSchema }, ...problems(400, 401, 403, 404, 413, 415, 429), 409: problem('command_ended: already answered, expired or cancelled') },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'device:report', id);
    const cid = commandId(c);
    const body = parseWith(AnswerBody, await readJson(c.req.raw, deps.maxBodyBytes), 'answer');
    return c.json(json(await commands.answer(id, cid, body.result === undefined ? { status: body.status } : { status: body.status, result: body.result })));
  });
}
