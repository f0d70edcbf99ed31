/**
 * One WebSocket connection, whatever its kind: reads frames, parses them, charges the credential
 * for each request (rate limits apply as over HTTP, and a revoked credential ends the session),
 * runs the kind's handler and answers failures as `error` frames echoing the request's `ref`.
 * Subscribe and unsubscribe run one after another in arrival order, so an unsubscribe never
 * overtakes the subscribe before it; gets and writes run as they come.
 */
import type { TwinService } from '../../actors/index.ts';
import type { Credentials, Principal } from '../../src/auth/index.ts';
import type { Logger } from '../../src/log.ts';
import type { Counter, Gauge, Histogram } from '../../src/metrics/index.ts';
import type { WsConnection } from '../../src/runtime/types.ts';
import { Outbox } from './backlog.ts';
import { errorFrame } from './frames.ts';
import { parseMessage } from './messages.ts';
import type { ClientMessage, Ref } from './messages.ts';

export interface WsMetrics {
  connections: Gauge;
  subscriptions: Gauge;
  messages: Counter;
  /** Request to reply, by op (includes the commit for writes). */
  latency: Histogram;
  slowConsumers: Counter;
}

export interface SessionDeps {
  twins: TwinService;
  credentials: Credentials;
  logger: Logger;
  metrics: WsMetrics;
  maxBacklogBytes: number;
  maxSubscriptions: number;
}

export type SessionKind = 'app' | 'device';

/** What a session kind plugs in. */
export interface SessionHandler {
  /** Runs once the connection is open (e.g. a device's first delta). */
  start?(): Promise<void>;
  /** Handles one valid request; a throw becomes the request's `error` reply. */
  handle(message: ClientMessage): Promise<void>;
  /** Requests that must keep their arrival order relative to each other. */
  ordered(message: ClientMessage): boolean;
  /** The connection ended: release listeners and device attachments. */
  dispose(): void;
}

/** Close codes in the private range: 4000 + the HTTP status of the reason (4008 is the contract's). */
export const CLOSE = {
  unauthorized: { code: 4401, reason: 'unauthorized' },
  notFound: { code: 4404, reason: 'not_found' },
  unavailable: { code: 4503, reason: 'unavailable' },
  shuttingDown: { code: 1001, reason: 'server shutting down' },
  /** RFC 6455 §7.4.1 "Try Again Later": a stream cap filled between the handshake and the open. */
  overloaded: { code: 1013, reason: 'try again later' },
} as const;

export class Session {
  readonly kind: SessionKind;
  readonly principal: Principal;
  readonly outbox: Outbox;
  readonly deps: SessionDeps;
  readonly #token: string;
  readonly #handler: SessionHandler;
  readonly #onEnd: (session: Session) => void;
  #ordered: Promise<void> = Promise.resolve();
  #ended = false;

  constructor(opts: {
    connection: WsConnection; kind: SessionKind; principal: Principal; token: string; deps: SessionDeps;
    handler: (session: Session) => SessionHandler; onEnd: (session: Session) => void;
  }) {
    const { connection, deps } = opts;
    this.kind = opts.kind;
    this.principal = opts.principal;
    this.deps = deps;
    this.#token = opts.token;
    this.#onEnd = opts.onEnd;
    this.outbox = new Outbox(connection, deps.maxBacklogBytes, () => {
      deps.metrics.slowConsumers.inc();
      this.#end();
    });
    this.#handler = opts.handler(this);
    deps.metrics.connections.inc({ kind: this.kind });
    connection.onClose(() => { this.outbox.markClosed(); this.#end(); });
    connection.onMessage((text) => this.#onMessage(text));
    if (this.#handler.start !== undefined) {
      this.#handler.start().catch((err: unknown) => this.replyError(undefined, err));
    }
  }

  get ended(): boolean { return this.#ended; }

  send(frame: string): void { this.outbox.send(frame); }

  /** Sends an `error` frame; `internal` ones are logged, since the client only sees a generic message. */
  replyError(ref: Ref | undefined, err: unknown, extra?: Record<string, unknown>): void {
    const { frame, error } = errorFrame(ref, err, extra);
    if (error.code === 'internal') this.deps.logger.error('websocket request failed', { err: error.cause ?? error, kind: this.kind });
    this.outbox.send(frame);
  }

  close(code: number, reason: string): void {
    this.outbox.close(code, reason);
    this.#end();
  }

  #onMessage(text: string): void {
    if (this.#ended) return;
    const parsed = parseMessage(text);
    this.deps.metrics.messages.inc({ op: parsed.op ?? 'invalid' });
    if (!parsed.ok) { this.replyError(parsed.ref, parsed.error); return; }
    const { message } = parsed;
    if (this.#handler.ordered(message)) this.#ordered = this.#ordered.then(() => this.#run(message));
    else void this.#run(message);
  }

  async #run(message: ClientMessage): Promise<void> {
    const started = performance.now();
    try {
      // Every request counts against the credential's rate, as over HTTP; the verified-token cache
      // makes this a map lookup, and it notices a key revoked or a device token rotated meanwhile.
      await this.deps.credentials.authenticate(this.#token);
      if (this.#ended) return;
      await this.#handler.handle(message);
    } catch (err) {
      if (this.#ended) return;
      this.replyError(message.ref, err);
      if ((err as { code?: unknown }).code === 'unauthorized') this.close(CLOSE.unauthorized.code, CLOSE.unauthorized.reason);
    } finally {
      this.deps.metrics.latency.observe({ op: message.op }, (performance.now() - started) / 1000);
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#handler.dispose();
    this.deps.metrics.connections.dec({ kind: this.kind });
    this.#onEnd(this);
  }
}
