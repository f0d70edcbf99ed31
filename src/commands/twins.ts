/**
 * `doppel twins list|get|create|patch|delete|history`: twin CRUD, listing and history over the
 * HTTP API (CONTRACT §5). Patches are JSON Merge Patch, sent as given; the server validates them.
 */
import { z } from 'zod';
import { intFlag, jsonObjectFlag, stringFlag, usageError } from './args.ts';
import { commandGroup } from './group.ts';
import type { Action, ActionContext } from './group.ts';
import { ClientFailure, expectReply } from './http-client.ts';
import { readBodyInput } from './input.ts';
import { cell } from './output.ts';

const TwinRow = z.object({
  id: z.string(),
  version: z.number(),
  sync: z.object({ inSync: z.boolean() }).optional(),
  connection: z.object({ online: z.boolean() }).optional(),
  updatedAt: z.string().optional(),
});
const Written = z.object({ id: z.string(), version: z.number() });
const EventRow = z.object({ version: z.number(), at: z.string().optional(), via: z.string().optional(), patch: z.unknown() });
const Page = <C extends z.ZodType>(next: C) => z.object({ items: z.array(z.unknown()), next: next.nullable() });
const TwinPage = Page(z.string());
const HistoryPage = Page(z.number());

type PageOf<C> = { items: unknown[]; next: C | null };

/**
 * One page, or with `all` every page from `start` on, following `next`. A cursor that comes back
 * unchanged would loop forever: that is the server's bug, reported rather than followed.
 */
async function pages<C>(start: C | undefined, all: boolean, fetchPage: (at: C | undefined) => Promise<PageOf<C>>): Promise<PageOf<C>> {
  let page = await fetchPage(start);
  if (!all) return page;
  const items = [...page.items];
  let at: C | undefined = start;
  while (page.next !== null) {
    if (page.next === at) throw new ClientFailure(`the server answered the same page cursor twice (${String(at)})`);
    at = page.next;
    page = await fetchPage(at);
    items.push(...page.items);
  }
  return { items, next: null };
}

const path = (id: string, rest = '') => `/v1/twins/${encodeURIComponent(id)}${rest}`;

/** `If-Match` from --if-version: the write happens only at that version (else 412 version_conflict). */
function ifMatch(ctx: ActionContext): Record<string, string> {
  const version = intFlag(ctx.flags, 'if-version', ctx.context, 1);
  return version === undefined ? {} : { 'if-match': `"${version}"` };
}

/**
 * The request body of create and patch: the JSON object of --file (or `-`, stdin), then --desired
 * and --tags on top, so a file can hold a large document and a flag adjust it.
 */
async function writeBody(ctx: ActionContext): Promise<Record<string, unknown>> {
  const fromFile = await readBodyInput(ctx.flags, ctx.args.input, ctx.runtime, ctx.context);
  const body: Record<string, unknown> = { ...fromFile };
  const desired = jsonObjectFlag(ctx.flags, 'desired', ctx.context);
  const tags = jsonObjectFlag(ctx.flags, 'tags', ctx.context);
  if (desired !== undefined) body.desired = desired;
  if (tags !== undefined) body.tags = tags;
  return body;
}

/** A write's reply: the API's JSON, or `patched thermo-42 → version 5`. */
function printWrite(ctx: ActionContext, reply: unknown, verb: string): void {
  if (ctx.out.json) { ctx.out.document(reply); return; }
  const t = expectReply(Written, reply, 'a twin');
  ctx.out.line(`${verb} ${t.id} → version ${t.version}`);
}

const list: Action = {
  synopsis: '[--prefix P] [--filter EXPR] [--limit N] [--cursor C] [--all]',
  summary: 'List twins in id order, a page at a time (--all follows every page)',
  flags: { prefix: 'string', filter: 'string', limit: 'string', cursor: 'string', all: 'boolean' },
  async run(ctx) {
    const limit = intFlag(ctx.flags, 'limit', ctx.context, 1, 1000);
    const query = { prefix: stringFlag(ctx.flags, 'prefix'), filter: stringFlag(ctx.flags, 'filter'), limit };
    const all = ctx.flags.all === true;
    const page = await pages<string>(stringFlag(ctx.flags, 'cursor'), all, async (cursor) =>
      expectReply(TwinPage, await ctx.api.call('GET', '/v1/twins', { query: { ...query, cursor } }), 'a page of twins'));
    if (ctx.out.json) { ctx.out.document(page); return; }
    const rows = page.items.map((item) => {
      const t = expectReply(TwinRow, item, 'a twin');
      return [t.id, String(t.version), cell(t.sync?.inSync), cell(t.connection?.online), cell(t.updatedAt)];
    });
    ctx.out.table(['ID', 'VERSION', 'IN SYNC', 'ONLINE', 'UPDATED'], rows, '(no twins)');
    // A filtered page may be short, even empty, while more follow: always say so.
    if (page.next !== null) ctx.out.note(`more twins: add --cursor ${page.next} (or --all for every page)`);
  },
};

const get: Action = {
  synopsis: '<id> [--fields a,b]',
  summary: 'Show a twin, or only some fields (dot paths select inside: desired.temp)',
  positionals: ['id'],
  flags: { fields: 'string' },
  async run(ctx) {
    const twin = await ctx.api.call('GET', path(ctx.args.id!), { query: { fields: stringFlag(ctx.flags, 'fields') } });
    if (ctx.out.json) ctx.out.document(twin);
    else ctx.out.pretty(twin);
  },
};

const create: Action = {
  synopsis: '<id> [--desired JSON] [--tags JSON] [--file F | -]',
  summary: 'Create a twin at version 1 (--file: a JSON body {desired?, tags?}; - reads it from stdin)',
  positionals: ['id'],
  optional: ['input'],
  flags: { desired: 'string', tags: 'string', file: 'string' },
  async run(ctx) {
    const body = { ...(await writeBody(ctx)), id: ctx.args.id! };
    const reply = await ctx.api.call('POST', '/v1/twins', { body });
    printWrite(ctx, reply, 'created');
  },
};

const patch: Action = {
  synopsis: '<id> [--desired JSON] [--tags JSON] [--file F | -] [--if-version N]',
  summary: 'Merge-patch desired and/or tags (null deletes a key); --if-version writes only at that version',
  positionals: ['id'],
  optional: ['input'],
  flags: { desired: 'string', tags: 'string', file: 'string', 'if-version': 'string' },
  async run(ctx) {
    const body = await writeBody(ctx);
    const headers = { ...ifMatch(ctx), 'content-type': 'application/merge-patch+json' };
    if (Object.keys(body).length === 0) throw usageError(ctx.context, 'nothing to patch: give --desired, --tags or --file');
    const reply = await ctx.api.call('PATCH', path(ctx.args.id!), { body, headers });
    printWrite(ctx, reply, 'patched');
  },
};

const remove: Action = {
  synopsis: '<id> [--if-version N]',
  summary: 'Delete a twin with its history and device token',
  positionals: ['id'],
  flags: { 'if-version': 'string' },
  async run(ctx) {
    const id = ctx.args.id!;
    await ctx.api.call('DELETE', path(id), { headers: ifMatch(ctx) });
    // The API answers 204 without a body; --json still prints one document.
    if (ctx.out.json) ctx.out.document({ id, deleted: true });
    else ctx.out.line(`deleted ${id}`);
  },
};

const history: Action = {
  synopsis: '<id> [--since N] [--limit N] [--all]',
  summary: 'Change events after version --since (default 0), oldest first (--all follows every page)',
  positionals: ['id'],
  flags: { since: 'string', limit: 'string', all: 'boolean' },
  async run(ctx) {
    const id = ctx.args.id!;
    const limit = intFlag(ctx.flags, 'limit', ctx.context, 1, 1000);
    const all = ctx.flags.all === true;
    const page = await pages<number>(intFlag(ctx.flags, 'since', ctx.context, 0), all, async (since) =>
      expectReply(HistoryPage, await ctx.api.call('GET', path(id, '/history'), { query: { since, limit } }), 'a page of change events'));
    if (ctx.out.json) { ctx.out.document(page); return; }
    const rows = page.items.map((item) => {
      const e = expectReply(EventRow, item, 'a change event');
      return [String(e.version), cell(e.at), cell(e.via), cell(e.patch)];
    });
    ctx.out.table(['VERSION', 'AT', 'VIA', 'CHANGE'], rows, '(no events)');
    if (page.next !== null) ctx.out.note(`more events: add --since ${page.next} (or --all for every page)`);
  },
};

export const twinsCommand = commandGroup('twins', 'Read and change twins on a running server (HTTP API).', {
  list, get, create, patch, delete: remove, history,
});
