/**
 * App sessions (admin token or API key): subscribe and unsubscribe by twin ids or by id prefix,
 * get, patch desired and tags, and (admin only, as over HTTP) report. Every twin is authorized
 * with the same `authorize()` table as the HTTP edge, prefix-limited keys included.
 */
import { authorize, listingPrefix } from '../../src/auth/index.ts';
import type { Principal } from '../../src/auth/index.ts';
import { DoppelError, toDoppelError } from '../../src/errors.ts';
import { assertTwinId } from '../../src/twin/index.ts';
import { commandEventFrame } from './commands.ts';
import { Feeds } from './feeds.ts';
import { okFrame, subscribedFrame, twinFrame, unsubscribedFrame } from './frames.ts';
import type { ClientMessage, GetMessage, PatchMessage, ReportMessage, SubscribeMessage, UnsubscribeMessage } from './messages.ts';
import type { Session, SessionHandler } from './session.ts';
import { Subscriptions } from './subscriptions.ts';

export function appHandler(session: Session): SessionHandler {
  const { twins, metrics, maxSubscriptions } = session.deps;
  const principal = session.principal;
  const feeds = new Feeds(session.outbox, twins);
  // Every status change of a command to a followed twin (the subscription authorized the read).
  const subscriptions = new Subscriptions({
    twins, outbox: session.outbox, feeds, maxSubscriptions, gauge: metrics.subscriptions, onCommand: (command) => session.send(commandEventFrame(command)),
  });

  async function subscribe(m: SubscribeMessage): Promise<void> {
    authorize(principal, 'twins:read');
    const since = new Map(Object.entries(m.since ?? {}));
    if (m.twins !== undefined) {
      const ids = m.twins.map((id) => assertTwinId(id));
      // The whole request is refused when one twin may not be read: nothing is subscribed.
      for (const id of ids) {
        try { authorize(principal, 'twins:read', id); } catch (err) { throw aboutTwin(err, id); }
      }
      const fresh = subscriptions.fresh(ids);
      subscriptions.checkCapacity(fresh.length);
      session.send(subscribedFrame(m.ref));
      // Missing twins are reported one error each (same ref, `details.twin`); the others stay subscribed.
      for (const { twin, error } of await subscriptions.addIds(fresh, since)) session.replyError(m.ref, error, { twin });
      return;
    }
    const prefix = effectivePrefix(principal, m.prefix!);
    subscriptions.checkCapacity(subscriptions.hasPrefix(prefix) ? 0 : 1);
    session.send(subscribedFrame(m.ref));
    await subscriptions.addPrefix(prefix, since);
  }

  function unsubscribe(m: UnsubscribeMessage): void {
    if (m.twins !== undefined) subscriptions.removeIds(m.twins.map((id) => assertTwinId(id)));
    else {
      const allowed = listingPrefix(principal);
      const prefix = intersect(allowed, m.prefix!);
      if (prefix !== null) subscriptions.removePrefix(prefix);
    }
    session.send(unsubscribedFrame(m.ref));
  }

  async function get(m: GetMessage): Promise<void> {
    const id = requiredTwin(m);
    authorize(principal, 'twins:read', id);
    const state = await twins.get(id);
    session.send(twinFrame(m.ref, state, twins.connection(state)));
  }

  async function patch(m: PatchMessage): Promise<void> {
    const id = assertTwinId(m.twin);
    authorize(principal, 'twins:write', id);
    const body: { desired?: unknown; tags?: unknown } = {};
    if (m.desired !== undefined) body.desired = m.desired;
    if (m.tags !== undefined) body.tags = m.tags;
    const { state } = await twins.patch(id, body, {
      via: 'ws', ...(m.clientToken === undefined ? {} : { clientToken: m.clientToken }), ...(m.ifVersion === undefined ? {} : { ifVersion: m.ifVersion }),
    });
    session.send(okFrame(m.ref, state.version, { clientToken: m.clientToken }));
  }

  /** Reported state from an app session: the admin token only, as over HTTP. */
  async function report(m: ReportMessage): Promise<void> {
    const id = requiredTwin(m);
    authorize(principal, 'device:report', id);
    const { state } = await twins.patch(id, { reported: m.reported }, {
      via: 'ws', ...(m.clientToken === undefined ? {} : { clientToken: m.clientToken }), ...(m.ifVersion === undefined ? {} : { ifVersion: m.ifVersion }),
    });
    session.send(okFrame(m.ref, state.version, { delta: state.delta, clientToken: m.clientToken }));
  }

  return {
    ordered: (m) => m.op === 'subscribe' || m.op === 'unsubscribe',
    handle(m: ClientMessage): Promise<void> {
      switch (m.op) {
        case 'subscribe': return subscribe(m);
        case 'unsubscribe': unsubscribe(m); return Promise.resolve();
        case 'get': return get(m);
        case 'patch': return patch(m);
        case 'report': return report(m);
        case 'result': throw new DoppelError('forbidden', 'Forbidden: commands are answered by the device, in its own session (or over HTTP)');
      }
    },
    dispose: () => { subscriptions.dispose(); },
  };
}

function requiredTwin(m: { op: string; twin?: string | undefined }): string {
  if (m.twin === undefined) throw new DoppelError('invalid_request', `Invalid "${m.op}" message: "twin" is required`, { details: { path: ['twin'] } });
  return assertTwinId(m.twin);
}

/** The same error, naming the twin it is about in `details.twin`. */
function aboutTwin(err: unknown, twin: string): DoppelError {
  const e = toDoppelError(err);
  return new DoppelError(e.code, e.message, { details: { ...e.details, twin }, public: e.public });
}

/** Where two prefixes overlap: the longer one if one contains the other, else null (disjoint). */
function intersect(a: string, b: string): string | null {
  if (b.startsWith(a)) return b;
  if (a.startsWith(b)) return a;
  return null;
}

/** The prefix a subscription may cover: the asked one within a prefix-limited key's own. */
function effectivePrefix(principal: Principal, asked: string): string {
  const allowed = listingPrefix(principal);
  const prefix = intersect(allowed, asked);
  if (prefix === null) {
    throw new DoppelError('forbidden', `Forbidden: this key is limited to twins starting with "${allowed}"`, { details: { prefix: asked } });
  }
  return prefix;
}
