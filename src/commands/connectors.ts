/**
 * `doppel connectors add|list|show|rm`: outbound connectors on a running server (admin token).
 * The webhook secret is sent once and never shown again: the server does not return it.
 */
import { z } from 'zod';
import { intFlag, stringFlag, usageError } from './args.ts';
import { commandGroup } from './group.ts';
import type { Action } from './group.ts';
import { expectReply } from './http-client.ts';
import { cell } from './output.ts';

const KINDS = ['webhook', 'nats', 'mqtt'] as const;
const Row = z.object({
  id: z.string(), kind: z.string(), url: z.string(), prefix: z.string().nullable(), filter: z.string().nullable(), events: z.array(z.string()),
});
const List = z.object({ items: z.array(Row) });
const Status = Row.extend({ delivered: z.number(), failed: z.number(), dropped: z.number(), lag: z.number(), state: z.string(), lastError: z.string().nullable() });

/** The kind-specific field each kind needs, and the flag that gives it. */
const TARGET_FIELD: Readonly<Record<(typeof KINDS)[number], 'secret' | 'subject' | 'topic'>> = { webhook: 'secret', nats: 'subject', mqtt: 'topic' };

const add: Action = {
  synopsis: '<id> --kind webhook|nats|mqtt --target URL (--secret S | --subject S | --topic T) [--prefix P] [--filter F] [--events change,deleted] [--max-age-seconds N] [--timeout-seconds N]',
  summary: 'Create a connector: every matching change is delivered to a webhook, a NATS subject or an MQTT topic',
  positionals: ['id'],
  flags: {
    kind: 'string', target: 'string', secret: 'string', subject: 'string', topic: 'string', prefix: 'string', filter: 'string', events: 'string',
    'max-age-seconds': 'string', 'timeout-seconds': 'string',
  },
  async run(ctx) {
    const kind = stringFlag(ctx.flags, 'kind');
    if (kind === undefined || !(KINDS as readonly string[]).includes(kind)) throw usageError(ctx.context, `--kind must be one of ${KINDS.join(', ')}`);
    const field = TARGET_FIELD[kind as (typeof KINDS)[number]];
    // --target, not --url: --url is the common flag naming the Doppel server.
    const url = stringFlag(ctx.flags, 'target');
    const target = stringFlag(ctx.flags, field);
    if (url === undefined) throw usageError(ctx.context, '--target is required: the webhook, NATS or MQTT URL');
    if (target === undefined) throw usageError(ctx.context, `--${field} is required for a ${kind} connector`);
    const body: Record<string, unknown> = { id: ctx.args.id!, kind, url, [field]: target };
    for (const name of ['prefix', 'filter'] as const) {
      const value = stringFlag(ctx.flags, name);
      if (value !== undefined) body[name] = value;
    }
    const events = stringFlag(ctx.flags, 'events');
    if (events !== undefined) body.events = events.split(',').map((e) => e.trim()).filter((e) => e !== '');
    const maxAge = intFlag(ctx.flags, 'max-age-seconds', ctx.context, 1);
    if (maxAge !== undefined) body.maxAgeSeconds = maxAge;
    const timeout = intFlag(ctx.flags, 'timeout-seconds', ctx.context, 1, 60);
    if (timeout !== undefined) body.timeoutSeconds = timeout;
    const reply = await ctx.api.call('POST', '/v1/connectors', { body });
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const c = expectReply(Status, reply, 'a new connector');
    ctx.out.line(`created connector ${c.id} (${c.kind} → ${c.url})`);
  },
};

const list: Action = {
  synopsis: '',
  summary: 'List connectors (never their secrets)',
  async run(ctx) {
    const reply = await ctx.api.call('GET', '/v1/connectors');
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const { items } = expectReply(List, reply, 'a list of connectors');
    ctx.out.table(['ID', 'KIND', 'URL', 'PREFIX', 'FILTER', 'EVENTS'],
      items.map((c) => [c.id, c.kind, c.url, cell(c.prefix), cell(c.filter), c.events.join(',')]), '(no connectors)');
  },
};

const show: Action = {
  synopsis: '<id>',
  summary: 'A connector and its delivery state: delivered, failed, dropped, lag, last error',
  positionals: ['id'],
  async run(ctx) {
    const reply = await ctx.api.call('GET', `/v1/connectors/${encodeURIComponent(ctx.args.id!)}`);
    if (ctx.out.json) { ctx.out.document(reply); return; }
    const c = expectReply(Status, reply, 'a connector');
    ctx.out.table(['ID', 'KIND', 'STATE', 'DELIVERED', 'FAILED', 'DROPPED', 'LAG (s)', 'LAST ERROR'],
      [[c.id, c.kind, c.state, String(c.delivered), String(c.failed), String(c.dropped), c.lag.toFixed(1), cell(c.lastError)]], '');
  },
};

const remove: Action = {
  synopsis: '<id>',
  summary: 'Delete a connector: delivery stops and its undelivered events are discarded',
  positionals: ['id'],
  async run(ctx) {
    const id = ctx.args.id!;
    await ctx.api.call('DELETE', `/v1/connectors/${encodeURIComponent(id)}`);
    if (ctx.out.json) ctx.out.document({ id, deleted: true });
    else ctx.out.line(`deleted connector ${id}`);
  },
};

export const connectorsCommand = commandGroup('connectors', 'Manage outbound connectors on a running server (HTTP API, admin token).', { add, list, show, rm: remove });
