/**
 * The CoAP resources of CONTRACT §6, on the transport seam:
 * - `GET /t/{id}`: the device view `{version, desired, reported, delta}` (never tags or metadata);
 * - `GET /t/{id}/desired`, `GET /t/{id}/delta`: that part, observable (RFC 7641);
 * - `PUT`/`POST /t/{id}/reported`: merge patch of reported → 2.04 `{version, delta}`;
 * - `GET /t/{id}/commands` (observable), `POST /t/{id}/commands/{cid}`: commands (commands.ts);
 * - `GET /.well-known/core`: discovery (RFC 6690).
 * Every request answers exactly once; failures become a CoAP code with a diagnostic payload.
 * Only a device token's own requests count as device contact; an API key or the admin token may
 * read (and the admin write) but is not the device. A revoked key or rotated device token loses
 * its observations at once, with a final 4.01 (RFC 7641 §3.2), as its WebSocket sessions close.
 */
import type { TwinService, WriteContext } from '../../actors/index.ts';
import { authorize } from '../../src/auth/index.ts';
import type { Credentials, Principal } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import { toDeviceView } from '../../src/twin/index.ts';
import type { TwinState } from '../../src/twin/types.ts';
import { CommandObservers, commandResource } from './commands.ts';
import { errorResponse } from './errors.ts';
import { decodeBody, encodeBody, LINK_FORMAT, replyFormat, requestFormat } from './formats.ts';
import { linkFormat } from './link-format.ts';
import type { Observable, ObserveRegistry } from './observe.ts';
import { decodeUint } from './options.ts';
import type { CoapExchange, CoapRequest, Observation } from './transport.ts';

export interface ResourceDeps {
  twins: TwinService;
  credentials: Credentials;
  observers: ObserveRegistry;
  /** Observations of `/t/{id}/commands` (closed with the edge); a private one when not given. */
  commandObservers?: CommandObservers;
  maxBodyBytes: number;
  isClosing(): boolean;
  /** Unexpected (internal) failures, for the log. */
  onInternalError(err: unknown, request: CoapRequest): void;
  /** One call per answered request, with the response code (metrics). */
  /** Every answer, with the seconds from the request reaching the handler to its answer. */
  onAnswered?(method: string, code: string, seconds: number): void;
}

/**
 * The request handler to give the transport.
 *
 * @example
 * await transport.listen('127.0.0.1', 5683, createResourceHandler({ twins, credentials, observers, … }));
 */
export function createResourceHandler(deps: ResourceDeps): (exchange: CoapExchange) => void {
  const revocable = observationsByCredential(deps.credentials);
  const commandObservers = deps.commandObservers ?? new CommandObservers();
  return (exchange) => {
    const started = performance.now();
    let answered = false;
    const answer: CoapExchange = {
      request: exchange.request,
      respond: (response) => { answered = true; deps.onAnswered?.(exchange.request.method, response.code, (performance.now() - started) / 1000); exchange.respond(response); },
      accept: (response) => { answered = true; deps.onAnswered?.(exchange.request.method, response.code, (performance.now() - started) / 1000); return exchange.accept(response); },
    };
    route(answer, deps, revocable, commandObservers).catch((err: unknown) => {
      const res = errorResponse(err);
      if (res.internal) deps.onInternalError(err, exchange.request);
      if (!answered) answer.respond(res);
    });
  };
}

async function route(ex: CoapExchange, deps: ResourceDeps, revocable: Revocable, commandObservers: CommandObservers): Promise<void> {
  const r = ex.request;
  if (deps.isClosing()) throw new DoppelError('unavailable', 'Server is shutting down');
  const [first, id, part, ...rest] = r.path;
  if (first === '.well-known' && id === 'core' && part === undefined) {
    if (r.method !== 'GET') throw notAllowed(r, 'GET');
    const token = queryParam(r, 'token');
    const principal = token === undefined ? undefined : await deps.credentials.authenticate(token);
    ex.respond({ code: '2.05', contentFormat: LINK_FORMAT, payload: new TextEncoder().encode(linkFormat(principal?.kind === 'device' ? principal.twin : undefined)) });
    return;
  }
  if (first === 't' && id !== undefined && id !== '' && part === 'commands' && rest.length <= 1) {
    const principal = await deps.credentials.authenticate(queryParam(r, 'token'));
    return commandResource(revocable.track(ex, principal), deps, commandObservers, principal, id, rest[0]);
  }
  if (first !== 't' || id === undefined || id === '' || rest.length > 0 || (part !== undefined && !['desired', 'delta', 'reported'].includes(part))) {
    throw new DoppelError('not_found', `No resource "/${r.path.join('/')}": see /.well-known/core`);
  }
  const token = queryParam(r, 'token');
  // A token that verified before is known synchronously (same cache, same revocation, same rate
  // limit as `authenticate`), sparing the device's hot path a turn of the microtask queue.
  const principal = (token === undefined ? undefined : deps.credentials.verified(token)) ?? await deps.credentials.authenticate(token);
  if (part === 'reported') {
    if (r.method !== 'PUT' && r.method !== 'POST') throw notAllowed(r, 'PUT, POST');
    return await report(ex, deps, principal, id);
  }
  if (r.method !== 'GET') throw notAllowed(r, 'GET');
  authorize(principal, 'device:read', id);
  const format = replyFormat(r.accept, r.contentFormat);
  if (r.observe === 1) deps.observers.cancel(r.endpoint, r.token);
  if (r.observe === 0 && part !== undefined) {
    const who = principal.kind === 'admin' ? 'admin' : principal.id;
    if (await deps.observers.register(revocable.track(ex, principal), who, id, part as Observable, format, principal.kind === 'device')) return;
  }
  const state = principal.kind === 'device' ? await deps.twins.touch(id, 'coap') : await deps.twins.get(id);
  ex.respond({ code: '2.05', contentFormat: format, payload: encodeBody(select(state, part), format) });
}

async function report(ex: CoapExchange, deps: ResourceDeps, principal: Principal, id: string): Promise<void> {
  const r = ex.request;
  authorize(principal, 'device:report', id);
  const inFormat = requestFormat(r.contentFormat);
  const outFormat = replyFormat(r.accept, r.contentFormat);
  if (r.payload.length > deps.maxBodyBytes) throw new DoppelError('too_large', `Too large: body over ${deps.maxBodyBytes} bytes`);
  const reported = decodeBody(r.payload, inFormat);
  const ifVersion = expectedVersion(r);
  const ctx: WriteContext = { via: 'coap', deviceContact: principal.kind === 'device' };
  if (ifVersion !== undefined) ctx.ifVersion = ifVersion;
  const { state } = await deps.twins.patch(id, { reported }, ctx);
  // A sleepy device that never observes learns what is pending in the same exchange: its delta,
  // and its open commands when it has any (delivered by this reply).
  // Nearly every twin has none, known at once from the open-commands index (no turn of the loop).
  const commands = principal.kind === 'device' && !deps.twins.commands.knownNoneOpen(id) ? await deps.twins.commands.openOrdersIfAny(id) : [];
  const reply = commands.length === 0 ? { version: state.version, delta: state.delta } : { version: state.version, delta: state.delta, commands };
  ex.respond({ code: '2.04', contentFormat: outFormat, payload: encodeBody(reply, outFormat) });
}

interface Revocable {
  /** `ex`, with the observation it may accept held under `principal`'s credential. */
  track(ex: CoapExchange, principal: Principal): CoapExchange;
}

/** Observations by credential id, ended with a final 4.01 when that credential is revoked. */
function observationsByCredential(credentials: Credentials): Revocable {
  const held = new Map<string, Set<Observation>>();
  credentials.onRevoke((id) => {
    const observations = held.get(id);
    if (observations === undefined) return;
    held.delete(id);
    const { code, payload } = errorResponse(new DoppelError('unauthorized', 'Unauthorized: the credential was revoked'));
    // An error notification ends the relation (its onEnd releases the twin subscription).
    for (const o of observations) o.notify({ code, payload }, true);
  });
  return {
    track(ex, principal) {
      if (principal.kind === 'admin') return ex;
      return {
        request: ex.request,
        respond: (response) => ex.respond(response),
        accept(response) {
          const observation = ex.accept(response);
          let set = held.get(principal.id);
          if (set === undefined) held.set(principal.id, (set = new Set()));
          set.add(observation);
          observation.onEnd(() => {
            set.delete(observation);
            if (set.size === 0 && held.get(principal.id) === set) held.delete(principal.id);
          });
          return observation;
        },
      };
    },
  };
}

function select(state: TwinState, part: string | undefined): unknown {
  if (part === 'desired') return state.desired;
  if (part === 'delta') return state.delta;
  return toDeviceView(state);
}

/**
 * RFC 7252 §5.10.8.1: If-Match carries the expected version as an unsigned integer (an empty
 * value means "the twin exists", which any version satisfies). One value at most.
 */
function expectedVersion(r: CoapRequest): number | undefined {
  if (r.ifMatch.length === 0) return undefined;
  if (r.ifMatch.length > 1) throw new DoppelError('invalid_request', 'Invalid If-Match: give one version');
  const value = r.ifMatch[0]!;
  if (value.length === 0) return undefined;
  if (value.length > 6) throw new DoppelError('invalid_request', 'Invalid If-Match: a version is an unsigned integer of at most 6 bytes');
  return decodeUint(value);
}

function queryParam(r: CoapRequest, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const q of r.query) if (q.startsWith(prefix)) return q.slice(prefix.length);
  return undefined;
}

function notAllowed(r: CoapRequest, allowed: string): DoppelError {
  return new DoppelError('method_not_allowed', `Method ${r.method} not allowed on "/${r.path.join('/')}": use ${allowed}`);
}
