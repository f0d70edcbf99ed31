/**
 * Commands over CoAP:
 * - `GET /t/{id}/commands`: the open commands `[{id, name, payload}]` (with the device token, now
 *   `delivered`); a device's observation (RFC 7641) is its live session: it is notified with the
 *   open commands whenever one is added, so direct commands reach it;
 * - `POST /t/{id}/commands/{cid}` `{status: "succeeded"|"failed", result?}` → 2.04; an ended
 *   command is 4.09 `command_ended` (the first answer wins), an unknown one 4.04.
 * Notifications are confirmable: a command is worth an ACK, and an unanswered one ends the relation.
 */
import { z } from 'zod';
import { openTwinStream, StreamCloser } from '../../actors/index.ts';
import type { TwinService } from '../../actors/index.ts';
import { authorize } from '../../src/auth/index.ts';
import type { Principal } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import { isCommandId, isEnded, orderOf } from '../../src/twin/commands.ts';
import { describeIssue } from '../../src/zod-issue.ts';
import { diagnostic } from './errors.ts';
import { decodeBody, encodeBody, replyFormat, requestFormat } from './formats.ts';
import type { CoapExchange, Observation } from './transport.ts';

/** Max-Age of the 5.03 that ends command observations at shutdown (as observe.ts's). */
const SHUTDOWN_RETRY_SECONDS = 5;

const AnswerBody = z.object({ status: z.enum(['succeeded', 'failed']), result: z.unknown().optional() }).strict();

export interface CommandResourceDeps {
  twins: TwinService;
  maxBodyBytes: number;
}

/** How many command observations the server holds, in all and on one twin. */
export interface CommandObserverLimits { maxTotal: number; maxPerTwin: number }

/**
 * Observations of `/t/{id}/commands` by `address:port|token`, for deregistration (RFC 7641 §3.6),
 * within the same caps as the twin observations (`--coap-max-observers`, `--coap-max-observers-per-twin`):
 * one device registering from ever new ports cannot take the server's memory.
 */
export class CommandObservers {
  readonly #byEndpoint = new Map<string, Observation>();
  readonly #perTwin = new Map<string, number>();
  readonly #limits: CommandObserverLimits;
  /** Relations held or being registered (reserved before the awaits, so concurrent ones cannot overshoot). */
  #reserved = 0;

  constructor(limits: CommandObserverLimits = { maxTotal: Number.POSITIVE_INFINITY, maxPerTwin: Number.POSITIVE_INFINITY }) {
    this.#limits = limits;
  }

  get size(): number { return this.#byEndpoint.size; }

  /** Room for one more relation on `id`, with its release; null when full (the caller answers a plain GET). */
  reserve(id: string): (() => void) | null {
    const onTwin = this.#perTwin.get(id) ?? 0;
    if (this.#reserved >= this.#limits.maxTotal || onTwin >= this.#limits.maxPerTwin) return null;
    this.#reserved++;
    this.#perTwin.set(id, onTwin + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#reserved--;
      const left = (this.#perTwin.get(id) ?? 1) - 1;
      if (left <= 0) this.#perTwin.delete(id);
      else this.#perTwin.set(id, left);
    };
  }

  hold(key: string, observation: Observation): () => void {
    this.#byEndpoint.get(key)?.end();
    this.#byEndpoint.set(key, observation);
    return () => { if (this.#byEndpoint.get(key) === observation) this.#byEndpoint.delete(key); };
  }

  cancel(key: string): void {
    this.#byEndpoint.get(key)?.end();
  }

  /**
   * Server shutdown: ends each relation with a final non-confirmable 5.03 whose Max-Age says when
   * to register again (RFC 7641 §3.2, RFC 7252 §5.9.3.4), as the twin observations end.
   */
  close(): void {
    const payload = diagnostic('unavailable', 'Server shutting down');
    for (const observation of [...this.#byEndpoint.values()]) {
      observation.notify({ code: '5.03', payload, maxAge: SHUTDOWN_RETRY_SECONDS }, false);
      observation.end();
    }
    this.#byEndpoint.clear();
  }
}

/** Handles `/t/{id}/commands` (no `cid`) and `/t/{id}/commands/{cid}`. */
export async function commandResource(ex: CoapExchange, deps: CommandResourceDeps, observers: CommandObservers, principal: Principal, id: string, cid: string | undefined): Promise<void> {
  const r = ex.request;
  const key = `${r.endpoint.address}:${r.endpoint.port}|${r.token}`;
  if (cid !== undefined) {
    if (r.method !== 'POST') throw new DoppelError('method_not_allowed', `Method ${r.method} not allowed on "/${r.path.join('/')}": use POST`);
    return answer(ex, deps, principal, id, cid);
  }
  if (r.method !== 'GET') throw new DoppelError('method_not_allowed', `Method ${r.method} not allowed on "/${r.path.join('/')}": use GET`);
  authorize(principal, 'device:read', id);
  const format = replyFormat(r.accept, r.contentFormat);
  if (r.observe === 1) observers.cancel(key);
  if (principal.kind !== 'device') {
    // A key or the admin token is not the device: it sees the open commands without delivering
    // them, and is not registered as the device's live session (RFC 7641 §4.1 lets a server
    // answer a registration without Observe, as a plain GET).
    const open = (await deps.twins.commands.list(id)).filter((c) => !isEnded(c.status)).map(orderOf);
    ex.respond({ code: '2.05', contentFormat: format, payload: encodeBody(open, format) });
    return;
  }
  // RFC 7641 §4.1: a server that cannot add an observer answers the registration as a plain GET.
  const room = r.observe === 0 ? observers.reserve(id) : null;
  if (room === null) {
    const orders = await deps.twins.commands.deliverOpen(id);
    ex.respond({ code: '2.05', contentFormat: format, payload: encodeBody(orders, format) });
    return;
  }
  await observe(ex, deps, observers, key, id, format, room);
}

async function observe(ex: CoapExchange, deps: CommandResourceDeps, observers: CommandObservers, key: string, id: string, format: ReturnType<typeof replyFormat>, room: () => void): Promise<void> {
  const { commands } = deps.twins;
  let observation: Observation | null = null;
  /** A command added before the relation was answered: notify once it is. */
  let missed = false;
  let chain = Promise.resolve();
  const notifyOpen = () => {
    // Serialized, so notifications go out in the order the commands were added.
    chain = chain.then(async () => {
      const orders = await commands.deliverOpen(id);
      observation?.notify({ code: '2.05', contentFormat: format, payload: encodeBody(orders, format) }, true);
    }).catch(() => undefined);
  };
  const detachSink = commands.attachSink(id, () => { if (observation === null) missed = true; else notifyOpen(); });
  // The twin stream holds the device attachment (online and resident while observed, as its other
  // observations do) and tells of the twin's deletion; its changes are not this resource's.
  const stream = new StreamCloser();
  try {
    await openTwinStream(deps.twins, id, { attach: 'coap', closer: stream }, (item) => {
      if (item.type === 'deleted') observation?.notify({ code: '4.04', payload: diagnostic('not_found', `Twin "${id}" was deleted`) }, true);
    });
    const orders = await commands.deliverOpen(id);
    observation = ex.accept({ code: '2.05', contentFormat: format, payload: encodeBody(orders, format) });
  } catch (err) {
    detachSink();
    stream.close();
    room();
    throw err;
  }
  const release = observers.hold(key, observation);
  observation.onEnd(() => { detachSink(); stream.close(); release(); room(); });
  if (missed) notifyOpen();
}

async function answer(ex: CoapExchange, deps: CommandResourceDeps, principal: Principal, id: string, cid: string): Promise<void> {
  const r = ex.request;
  authorize(principal, 'device:report', id);
  if (!isCommandId(cid)) throw new DoppelError('not_found', `No command ${JSON.stringify(String(cid).slice(0, 40))}`);
  const format = requestFormat(r.contentFormat);
  if (r.payload.length > deps.maxBodyBytes) throw new DoppelError('too_large', `Too large: body over ${deps.maxBodyBytes} bytes`);
  const body = decodeBody(r.payload, format);
  const parsed = AnswerBody.safeParse(body);
  if (!parsed.success) throw new DoppelError('invalid_request', describeIssue(parsed.error.issues[0]!, 'answer', body));
  const { status, result } = parsed.data;
  await deps.twins.commands.answer(id, cid, result === undefined ? { status } : { status, result });
  ex.respond({ code: '2.04', payload: new Uint8Array(0) });
}
