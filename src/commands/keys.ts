/**
 * `doppel keys create|list|delete`: API keys (CONTRACT §4). A new key's token is printed once, alone
 * on stdout; listings never contain tokens (the server keeps only their hashes).
 */
import { z } from 'zod';
import { stringFlag, usageError } from './args.ts';
import { commandGroup } from './group.ts';
import type { Action } from './group.ts';
import { expectReply } from './http-client.ts';
import { cell } from './output.ts';

const SCOPES = ['twins:read', 'twins:write', 'keys:admin'] as const;
const Scopes = z.array(z.enum(SCOPES)).min(1);
const KeyRow = z.object({
  id: z.string(), name: z.string().nullable().optional(), scopes: z.array(z.string()), prefix: z.string().nullable().optional(), createdAt: z.string().optional(),
});
const CreatedKey = KeyRow.extend({ token: z.string() });
const KeyList = z.object({ items: z.array(KeyRow) });

const create: Action = {
  synopsis: '--scopes twins:read,twins:write [--prefix P] [--name N]',
  summary: `Create an API key (scopes: ${SCOPES.join(', ')}; --prefix limits it to twin ids starting with P)`,
  flags: { scopes: 'string', prefix: 'string', name: 'string' },
  async run(ctx) {
    const raw = stringFlag(ctx.flags, 'scopes');
    if (raw === undefined) throw usageError(ctx.context, `--scopes is required: a comma-separated list of ${SCOPES.join(', ')}`);
    // Checked here too, so a typo is a usage error that names the valid scopes.
    const scopes = Scopes.safeParse(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    if (!scopes.success) throw usageError(ctx.context, `--scopes must be a comma-separated list of ${SCOPES.join(', ')}, got "${raw}"`);
    const prefix = stringFlag(ctx.flags, 'prefix');
    const name = stringFlag(ctx.flags, 'name');
    const body = { scopes: [...new Set(scopes.data)], ...(prefix === undefined ? {} : { prefix }), ...(name === undefined ? {} : { name }) };
    const reply = await ctx.api.call('POST', '/v1/keys', { body });
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const key = expectReply(CreatedKey, reply, 'a new key');
    ctx.out.note(`created key ${key.id} (${key.scopes.join(',')}${key.prefix ? `, twins starting with "${key.prefix}"` : ''}); its token, shown once:`);
    ctx.out.line(key.token);
  },
};

const list: Action = {
  synopsis: '',
  summary: 'List API keys (never their tokens)',
  async run(ctx) {
    const reply = await ctx.api.call('GET', '/v1/keys');
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const { items } = expectReply(KeyList, reply, 'a list of keys');
    ctx.out.table(['ID', 'NAME', 'SCOPES', 'PREFIX', 'CREATED'],
      items.map((k) => [k.id, cell(k.name), k.scopes.join(','), cell(k.prefix), cell(k.createdAt)]), '(no keys)');
  },
};

const remove: Action = {
  synopsis: '<id>',
  summary: 'Revoke an API key: it stops working at once, everywhere',
  positionals: ['id'],
  async run(ctx) {
    const id = ctx.args.id!;
    await ctx.api.call('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
    if (ctx.out.json) ctx.out.document({ id, deleted: true });
    else ctx.out.line(`deleted key ${id}`);
  },
};

export const keysCommand = commandGroup('keys', 'Manage API keys on a running server (HTTP API).', { create, list, delete: remove });
