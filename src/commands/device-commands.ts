/**
 * `doppel commands send|list|get|cancel`: commands to devices over the HTTP API. `send` with
 * `--ttl` queues the command (prints its id); without it the command is direct: the CLI waits for
 * the device's answer and prints the result (exit 1 with `device_offline` or `command_timeout`).
 */
import { z } from 'zod';
import { intFlag, parseJson, stringFlag, usageError } from './args.ts';
import { commandGroup } from './group.ts';
import type { Action } from './group.ts';
import { expectReply } from './http-client.ts';
import { cell } from './output.ts';

const STATUSES = ['queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled'] as const;
const CommandRow = z.object({
  id: z.string(), name: z.string(), status: z.string(), result: z.unknown().optional(), createdAt: z.string(), updatedAt: z.string(), expiresAt: z.string().optional(),
});
const CommandList = z.object({ items: z.array(CommandRow) });

const path = (twin: string, rest = '') => `/v1/twins/${encodeURIComponent(twin)}/commands${rest}`;

const send: Action = {
  synopsis: '<twin> <name> [--payload JSON] [--ttl SECONDS | --timeout-ms MS]',
  summary: 'Send a command: queued with --ttl (prints its id), else direct (waits for the answer and prints its result)',
  positionals: ['twin', 'name'],
  flags: { payload: 'string', ttl: 'string', 'timeout-ms': 'string' },
  async run(ctx) {
    const raw = stringFlag(ctx.flags, 'payload');
    const payload = raw === undefined ? undefined : parseJson(raw, '--payload', ctx.context);
    const ttlSeconds = intFlag(ctx.flags, 'ttl', ctx.context, 1, 2_592_000);
    const timeoutMs = intFlag(ctx.flags, 'timeout-ms', ctx.context, 1000, 300_000);
    if (ttlSeconds !== undefined && timeoutMs !== undefined) throw usageError(ctx.context, 'give --ttl (queued) or --timeout-ms (direct), not both');
    const body = {
      name: ctx.args.name, ...(payload === undefined ? {} : { payload }),
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
    const reply = await ctx.api.call('POST', path(ctx.args.twin!), { body });
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const command = expectReply(CommandRow, reply, 'a command');
    if (ttlSeconds !== undefined) {
      ctx.out.note(`queued command ${command.id} for ${ctx.args.twin} until ${cell(command.expiresAt)}`);
      ctx.out.line(command.id);
      return;
    }
    ctx.out.note(`command ${command.id} ${command.status}`);
    ctx.out.line(JSON.stringify(command.result ?? null));
  },
};

const list: Action = {
  synopsis: `<twin> [--status ${STATUSES.join('|')}]`,
  summary: 'List a twin\'s commands, newest first',
  positionals: ['twin'],
  flags: { status: 'string' },
  async run(ctx) {
    const status = stringFlag(ctx.flags, 'status');
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw usageError(ctx.context, `--status must be one of ${STATUSES.join(', ')}, got "${status}"`);
    const reply = await ctx.api.call('GET', path(ctx.args.twin!), { query: { status } });
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const { items } = expectReply(CommandList, reply, 'a list of commands');
    ctx.out.table(['ID', 'NAME', 'STATUS', 'CREATED', 'UPDATED'], items.map((c) => [c.id, c.name, c.status, c.createdAt, c.updatedAt]), '(no commands)');
  },
};

const get: Action = {
  synopsis: '<twin> <id> [--wait-ms MS]',
  summary: 'Show a command; --wait-ms waits (up to 60000) until it ends',
  positionals: ['twin', 'id'],
  flags: { 'wait-ms': 'string' },
  async run(ctx) {
    const waitMs = intFlag(ctx.flags, 'wait-ms', ctx.context, 0, 60_000);
    ctx.out.document(await ctx.api.call('GET', path(ctx.args.twin!, `/${encodeURIComponent(ctx.args.id!)}`), { query: { waitMs } }));
  },
};

const cancel: Action = {
  synopsis: '<twin> <id>',
  summary: 'Cancel a queued or delivered command',
  positionals: ['twin', 'id'],
  async run(ctx) {
    const reply = await ctx.api.call('DELETE', path(ctx.args.twin!, `/${encodeURIComponent(ctx.args.id!)}`));
    if (ctx.out.json) { ctx.out.document(reply); return; }
    ctx.out.line(`cancelled command ${expectReply(CommandRow, reply, 'a command').id}`);
  },
};

export const commandsCommand = commandGroup('commands', 'Send commands to devices and follow them on a running server (HTTP API).', { send, list, get, cancel });
