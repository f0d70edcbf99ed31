/**
 * @module
 * The WebSocket edge (CONTRACT §7), `GET /v1/ws` on the HTTP port: live, resumable subscriptions
 * for apps, and a push channel for devices. Runtime-neutral: it sees only the `WsEndpoint` /
 * `WsConnection` seam; the adapter does the upgrade, frame limits and heartbeats.
 *
 * The credential is checked on the handshake (`Authorization: Bearer` or `?access_token=`), so
 * a bad one is an HTTP 401 problem+json and never an open socket. An admin token or API key opens
 * an app session (`session-app.ts`), a device token a device session (`session-device.ts`).
 *
 * @example
 * ```ts
 * const websocket = createWsEndpoint({ twins, credentials, logger, metrics, maxPayload: 262144,
 *   heartbeatMs: 30_000, maxBacklogBytes: 8 << 20, maxSubscriptions: 100_000 });
 * await runtime.serveHttp(app.fetch, { host, port, websocket });
 * // on shutdown:
 * websocket.close();
 * ```
 */
import type { TwinService } from '../../actors/index.ts';
import { bearerToken } from '../../src/auth/index.ts';
import type { Credentials, Principal, StreamQuota } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { MetricsRegistry } from '../../src/metrics/index.ts';
import type { WsConnection, WsEndpoint } from '../../src/runtime/types.ts';
// The handshake is an HTTP request: refusals are the same problem+json the HTTP edge sends.
import { problemResponse } from '../http/problem.ts';
import { OPS } from './messages.ts';
import { appHandler } from './session-app.ts';
import { deviceHandler } from './session-device.ts';
import { CLOSE, Session } from './session.ts';
import type { SessionDeps, WsMetrics } from './session.ts';

export const WS_PATH = '/v1/ws';

export function createWsEndpoint(deps: {
  twins: TwinService;
  credentials: Credentials;
  logger: Logger;
  metrics: MetricsRegistry;
  maxPayload: number;
  heartbeatMs: number;
  maxBacklogBytes: number;
  maxSubscriptions: number;
  /** Shared with the SSE route: caps long-lived streams overall and per credential. */
  streams: StreamQuota;
}): WsEndpoint & { close(): void } {
  const metrics = registerMetrics(deps.metrics);
  const sessionDeps: SessionDeps = {
    twins: deps.twins, credentials: deps.credentials, logger: deps.logger, metrics,
    maxBacklogBytes: deps.maxBacklogBytes, maxSubscriptions: deps.maxSubscriptions,
  };
  const sessions = new Set<Session>();
  let closed = false;
  // A revoked key or rotated device token ends its live sessions at once, not at their next request.
  const stopRevocations = deps.credentials.onRevoke((id) => {
    for (const session of [...sessions]) {
      const p = session.principal;
      if (p.kind !== 'admin' && p.id === id) session.close(CLOSE.unauthorized.code, CLOSE.unauthorized.reason);
    }
  });

  const open = (connection: WsConnection, principal: Principal, token: string) => {
    if (closed) { connection.close(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason); return; }
    let release: () => void;
    try {
      // The handshake checked for room; others may have taken it during the upgrade.
      release = deps.streams.acquire(principal);
    } catch {
      connection.close(CLOSE.overloaded.code, CLOSE.overloaded.reason);
      return;
    }
    const device = principal.kind === 'device';
    sessions.add(new Session({
      connection, principal, token, deps: sessionDeps,
      kind: device ? 'device' : 'app',
      handler: device ? deviceHandler : appHandler,
      onEnd: (s) => { sessions.delete(s); release(); },
    }));
  };

  return {
    path: WS_PATH,
    maxPayload: deps.maxPayload,
    heartbeatMs: deps.heartbeatMs,
    async accept(request) {
      if (closed) return problemResponse(new DoppelError('unavailable', 'Server is shutting down'), WS_PATH).response;
      const token = bearerToken(request);
      let principal: Principal;
      try {
        principal = await deps.credentials.authenticate(token);
        deps.streams.check(principal); // refused as HTTP 503/429 with Retry-After, before any upgrade
      } catch (err) {
        const { response, error } = problemResponse(err, WS_PATH);
        if (error.code === 'internal') deps.logger.error('websocket handshake failed', { err });
        return response;
      }
      return (connection) => open(connection, principal, token!);
    },
    close() {
      closed = true;
      stopRevocations();
      for (const session of [...sessions]) session.close(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
    },
  };
}

function registerMetrics(registry: MetricsRegistry): WsMetrics {
  const connections = registry.gauge({ name: 'doppel_ws_connections', help: 'Open WebSocket connections by session kind', labelNames: ['kind'] });
  const subscriptions = registry.gauge({ name: 'doppel_ws_subscriptions', help: 'WebSocket subscriptions held (one per twin id or prefix)' });
  const messages = registry.counter({ name: 'doppel_ws_messages_total', help: 'WebSocket requests received by op ("invalid" when unreadable)', labelNames: ['op'] });
  const slowConsumers = registry.counter({ name: 'doppel_ws_slow_consumers_total', help: 'WebSocket connections closed with 4008 slow_consumer' });
  const latency = registry.histogram({
    name: 'doppel_ws_request_duration_seconds', help: 'WebSocket request latency (request to reply; writes include their commit) by op', labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  // Series exist from the start, so dashboards see zeros rather than gaps.
  connections.set({ kind: 'app' }, 0);
  connections.set({ kind: 'device' }, 0);
  subscriptions.set(0);
  for (const op of OPS) messages.inc({ op }, 0);
  messages.inc({ op: 'invalid' }, 0);
  slowConsumers.inc(0);
  return { connections, subscriptions, messages, latency, slowConsumers };
}
