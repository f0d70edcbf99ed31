/**
 * History pages and the Server-Sent Events stream of a twin's changes. The stream starts with a
 * `snapshot` event, or with the events after `Last-Event-ID` when resuming (a `snapshot` marked
 * `resync` when those have left history); every event's SSE id is the twin version. A stream
 * opened with an API key ends as soon as that key is revoked, as its WebSocket sessions do.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { authorize } from '../../../src/auth/index.ts';
import { DoppelError } from '../../../src/errors.ts';
import { eventJson, toPublicTwin } from '../../../src/twin/index.ts';
import { publicCommand } from '../../../src/twin/commands.ts';
import type { Command } from '../../../src/twin/commands.ts';
import { incarnation, openTwinStream } from '../../../actors/index.ts';
import type { StreamItem, TwinService } from '../../../actors/index.ts';
import type { Gauge } from '../../../src/metrics/index.ts';
import { onRevoked } from '../auth.ts';
import type { StreamQuota } from '../../../src/auth/index.ts';
import { parseWith } from '../body.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { HistoryPage, HistoryQuery } from '../schemas.ts';
import { PageWriter } from '../page.ts';
import { problems } from './problems.ts';
import { twinId } from './twins.ts';

export interface StreamLimits { heartbeatMs: number; maxQueued: number }

export function historyRoutes(app: Hono<Env>, table: RouteTable, deps: { twins: TwinService; stream: StreamLimits; onShutdown: (hook: () => void) => () => void; openStreams: Gauge; quota: StreamQuota }): void {
  const { twins } = deps;

  register(app, table, {
    method: 'get', path: '/v1/twins/:id/history', tag: 'History', auth: 'bearer', summary: 'Change history',
    description: 'Change events after version `since`, oldest first. `next` is the `since` of the following page, null when none is left; a page also ends early at about 4 MiB. History keeps the last events of each twin (1000 by default).',
    query: HistoryQuery,
    responses: { 200: { description: 'A page of change events', schema: HistoryPage }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:read', id);
    const q = parseWith(HistoryQuery, c.req.query(), 'query');
    const { events, more } = await twins.history(id, q.since, q.limit);
    const page = new PageWriter<number>();
    let full = false;
    for (const event of events) {
      if (!page.add(event.version, event)) { full = true; break; }
    }
    const next = (full || more) && page.lastKey !== undefined ? page.lastKey : null;
    return c.body(page.body(next), 200, { 'content-type': 'application/json' });
  });

  register(app, table, {
    method: 'get', path: '/v1/twins/:id/events', tag: 'History', auth: 'bearer', summary: 'Stream changes (Server-Sent Events)',
    description: 'A text/event-stream of `snapshot`, `change` and `deleted` events, and a `command` event (the command) on every status change of a command to the twin; each id is `<version>.<incarnation>` (the incarnation changes when a twin id is deleted and created again). Reconnect with `Last-Event-ID` (or `?since=<version>`) to get exactly the missed changes, or a snapshot marked `resync`.',
    headers: { 'Last-Event-ID': 'Resume after this version' },
    responses: { 200: { description: 'Event stream', contentType: 'text/event-stream' }, ...problems(400, 401, 403, 404, 429) },
  }, async (c) => {
    const id = twinId(c);
    authorize(c.get('principal'), 'twins:read', id);
    const resume = parseResume(c.req.header('last-event-id') ?? c.req.query('since'));
    // Subscribe before answering so a missing twin is a proper 404, not an empty stream.
    const queue: Array<StreamItem | { type: 'command'; command: Command }> = [];
    let life = ''; // the twin's incarnation, set at the cut (onStart), part of every event id
    let wake: (() => void) | null = null;
    let closed = false;
    const push = (item: StreamItem | { type: 'command'; command: Command }) => {
      if (closed) return;
      if (queue.length >= deps.stream.maxQueued) { closed = true; } else queue.push(item);
      wake?.();
    };
    const release = deps.quota.acquire(c.get('principal')); // 503 or 429 with Retry-After when full
    let unsubscribe: () => void;
    try {
      unsubscribe = await openTwinStream(twins, id, {
        ...resume, maxBuffered: deps.stream.maxQueued, onOverflow: () => { closed = true; wake?.(); },
        onStart: (state) => { life = incarnation(state); },
      }, push);
    } catch (err) {
      release();
      throw err;
    }
    return streamSSE(c, async (stream) => {
      const end = () => { closed = true; wake?.(); };
      stream.onAbort(end);
      const removeHook = deps.onShutdown(end);
      // Nothing more once the credential is gone, not even what is already queued.
      const stopRevoked = onRevoked(c.get('principal'), () => { queue.length = 0; end(); });
      // Every status change of the twin's commands, as `command` events (no id: not a twin version).
      const stopCommands = twins.commands.listen(id, (command) => push({ type: 'command', command }));
      const heartbeat = setInterval(() => { void stream.write(': keep-alive\n\n'); }, deps.stream.heartbeatMs);
      deps.openStreams.inc();
      try {
        while (!closed || queue.length > 0) {
          const item = queue.shift();
          if (item === undefined) {
            if (closed) break;
            await new Promise<void>((resolve) => { wake = resolve; });
            wake = null;
            continue;
          }
          if (item.type === 'snapshot') {
            const twin = toPublicTwin(item.state, twins.connection(item.state));
            await stream.writeSSE({ event: 'snapshot', id: `${item.state.version}.${life}`, data: JSON.stringify(item.resync ? { ...twin, resync: true } : twin) });
          } else if (item.type === 'command') {
            await stream.writeSSE({ event: 'command', data: JSON.stringify(publicCommand(item.command)) });
          } else if (item.type === 'change') {
            await stream.writeSSE({ event: 'change', id: `${item.event.version}.${life}`, data: eventJson(item.event) });
          } else {
            await stream.writeSSE({ event: 'deleted', data: JSON.stringify({ twin: item.twin }) });
            break;
          }
        }
      } finally {
        clearInterval(heartbeat);
        stopCommands();
        removeHook();
        stopRevoked();
        unsubscribe();
        release();
        deps.openStreams.dec();
      }
    });
  });
}

/** `Last-Event-ID` is `<version>.<incarnation>` (what we send); `?since=` may be a bare version. */
function parseResume(value: string | undefined): { since?: number; incarnation?: string } {
  if (value === undefined || value === '') return {};
  const m = /^(\d{1,15})(?:\.([0-9a-z]{1,16}))?$/.exec(value);
  if (m === null) throw new DoppelError('invalid_request', `Invalid Last-Event-ID "${value}": expected an event id such as "17.mfk3z2a1" or a version`);
  return m[2] === undefined ? { since: Number(m[1]) } : { since: Number(m[1]), incarnation: m[2] };
}
