/**
 * Routing a twin request to the node that owns the twin's shard: run it here when this node holds
 * the lease, else forward it over NATS request/reply to the holder, which answers as if the
 * request had arrived there. The reply (result or error) travels back in CBOR, so the caller sees
 * exactly what a local call would give, error codes included.
 *
 * Only a "no responders" failure (the holder is gone) is retried: a request that timed out may
 * have been applied, and repeating a write would apply it twice.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { DoppelError, isDoppelError } from '../errors.ts';
import type { ErrorCode, ErrorDetails } from '../errors.ts';
import { decodeValue, encodeValue } from '../store/codec.ts';
import type { RoutedOp, TwinRouter } from '../../actors/twins.ts';
import { COMMAND_OPS } from '../../actors/command-routing.ts';
import { shardOf } from './shards.ts';
import { assertNoForbiddenKeys } from '../twin/limits.ts';
import type { Leases } from './leases.ts';

/** How long a request waits for its twin's shard to get an owner, or for the owner to answer. */
const ROUTE_DEADLINE_MS = 6_000;
const RETRY_PAUSE_MS = 100;

interface Forwarded { op: RoutedOp; args: unknown[] }
type Reply = { ok: unknown } | { error: { code: ErrorCode; message: string; details?: ErrorDetails; retryAfter?: number } } | { notOwner: true };

const ROUTED = new Set<RoutedOp>(['create', 'get', 'read', 'touch', 'patch', 'remove', 'issueDeviceToken', ...COMMAND_OPS]);

export class ShardRouter implements TwinRouter {
  readonly #nc: NatsConnection;
  readonly #leases: Leases;
  readonly #subjectOf: (node: string) => string;
  #sub: Subscription | null = null;
  forwarded = 0;

  constructor(nc: NatsConnection, leases: Leases, subjectOf: (node: string) => string) {
    this.#nc = nc;
    this.#leases = leases;
    this.#subjectOf = subjectOf;
  }

  owns(id: string): boolean { return this.#leases.holds(shardOf(id)); }

  async route<T>(op: RoutedOp, id: string, args: unknown[], local: () => Promise<T>): Promise<T> {
    const shard = shardOf(id);
    // Refused here, before CBOR: decoding on the owner would rename `__proto__` instead of refusing it.
    if (!this.#leases.holds(shard)) assertNoForbiddenKeys(args, 'the request');
    const deadline = Date.now() + ROUTE_DEADLINE_MS;
    for (;;) {
      if (this.#leases.holds(shard)) return local();
      const holder = this.#leases.holderOf(shard);
      if (holder !== undefined) {
        const reply = await this.#forward(holder, { op, args }, deadline - Date.now());
        if (reply !== undefined) {
          if ('ok' in reply) return reply.ok as T;
          if ('error' in reply) throw new DoppelError(reply.error.code, reply.error.message, { ...(reply.error.details === undefined ? {} : { details: reply.error.details }), ...(reply.error.retryAfter === undefined ? {} : { retryAfter: reply.error.retryAfter }) });
        }
      }
      if (Date.now() + RETRY_PAUSE_MS > deadline) {
        throw new DoppelError('unavailable', `Twin "${id}" has no reachable owner right now (its node may have just failed over): retry`, { retryAfter: 1 });
      }
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }

  /** The holder's reply; undefined when it did not hold the shard or is gone (try again). */
  async #forward(node: string, request: Forwarded, timeoutMs: number): Promise<Reply | undefined> {
    this.forwarded++;
    try {
      const msg = await this.#nc.request(this.#subjectOf(node), encodeValue(request), { timeout: Math.max(100, timeoutMs) });
      const reply = decodeValue<Reply>(msg.data);
      return 'notOwner' in reply ? undefined : reply;
    } catch (err) {
      const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
      if (/no ?responders/i.test(text)) return undefined;
      throw new DoppelError('unavailable', `Twin request forwarded to node ${node} got no answer: ${err instanceof Error ? err.message : String(err)}`, { retryAfter: 1 });
    }
  }

  /** Answers requests forwarded to this node by running them on `invoke` (the twin service). */
  serve(self: string, invoke: (op: RoutedOp, args: unknown[]) => Promise<unknown>): void {
    this.#sub = this.#nc.subscribe(this.#subjectOf(self), {
      callback: (err, msg) => {
        if (err !== null) return;
        void (async (): Promise<Reply> => {
          const request = decodeValue<Forwarded>(msg.data);
          if (!ROUTED.has(request.op) || !Array.isArray(request.args)) return { error: { code: 'invalid_request', message: 'Unknown forwarded operation' } };
          const id = request.args[0];
          if (typeof id !== 'string' || !this.#leases.holds(shardOf(id))) return { notOwner: true };
          try {
            return { ok: await invoke(request.op, request.args) };
          } catch (e) {
            if (isDoppelError(e) && e.public) return { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }), ...(e.retryAfter === undefined ? {} : { retryAfter: e.retryAfter }) } };
            return { error: { code: 'internal', message: 'Internal error on the owning node' } };
          }
        })().then((reply) => { msg.respond(encodeValue(reply)); }).catch(() => undefined); // a reply lost to a closing connection: the caller retries
      },
    });
  }

  stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
  }
}
