/**
 * @module
 * The integrators' HTTP API (CONTRACT §5) as a hono app. `createApp(deps)` builds it apart from
 * listening (fastify's build/listen split), so tests can call `app.request()` without a socket and
 * any runtime adapter can serve `app.fetch`. Errors become problem+json (a wrong method on a known
 * path is 405 with `Allow`, an unknown path 404); every /v1 route needs a bearer credential.
 */
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import { createStreamQuota } from '../../src/auth/index.ts';
import type { Credentials, StreamQuota } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { MetricsRegistry } from '../../src/metrics/index.ts';
import type { TwinStore } from '../../src/store/index.ts';
import type { TwinService } from '../../actors/index.ts';
import { commandMetrics } from '../../actors/command-metrics.ts';
import { authenticate } from './auth.ts';
import { allowedMethods } from './methods.ts';
import { problemResponse } from './problem.ts';
import type { ClusterView } from '../../src/cluster/index.ts';
import type { ReadTextFile } from './reference.ts';
import type { Env, RouteTable } from './route.ts';
import { backupRoutes } from './routes/backup.ts';
import { commandRoutes } from './routes/commands.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { jobRoutes } from './routes/jobs.ts';
import type { JobService } from '../../actors/job-service.ts';
import { connectorRoutes } from './routes/connectors.ts';
import type { ConnectorRegistry } from '../../src/connector/registry.ts';
import { consoleRoutes } from './routes/console.ts';
import { documentationRoutes } from './routes/documentation.ts';
import { historyRoutes } from './routes/history.ts';
import { keyRoutes } from './routes/keys.ts';
import { opsRoutes } from './routes/ops.ts';
import { reportedRoutes } from './routes/reported.ts';
import { twinRoutes } from './routes/twins.ts';

export interface HttpDeps {
  twins: TwinService;
  credentials: Credentials;
  metrics: MetricsRegistry;
  logger: Logger;
  maxBodyBytes: number;
  metricsAuth: boolean;
  isReady: () => boolean;
  now?: () => Date;
  stream?: { heartbeatMs: number; maxQueued: number };
  /** The store, for `GET /v1/backup` (the route exists only when given). */
  store?: TwinStore;
  /** Caps on long-lived streams, shared with the WebSocket edge (default: unlimited). */
  streams?: StreamQuota;
  /** Registers a hook run when the server starts draining (open event streams end); returns its remover. */
  onShutdown?: (hook: () => void) => () => void;
  /** Fleet jobs (`/v1/jobs` answers unavailable without it). */
  jobs?: JobService;
  /** Reads the reference UI's files from node_modules (the runtime adapter's `readTextFile`). */
  readTextFile: ReadTextFile;
  /** Cluster mode: `GET /v1/cluster` (the route exists only when given). */
  cluster?: { view(): Promise<ClusterView> };
  /** Outbound connectors (`/v1/connectors` exists only when given). */
  connectors?: ConnectorRegistry;
  /** Where `GET /` sends a browser (default {@link HOME_PAGE}). */
  home?: string;
}

/** The page `GET /` redirects to: the web console (the API reference is at /docs). */
export const HOME_PAGE = '/console';

export type { Env, RouteTable };

export function createApp(deps: HttpDeps): { app: Hono<Env>; routes: RouteTable } {
  const app = new Hono<Env>();
  const table: RouteTable = { specs: [] };
  const now = deps.now ?? (() => new Date());
  const requests = deps.metrics.counter({ name: 'doppel_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'] });
  const latency = deps.metrics.histogram({
    name: 'doppel_http_request_duration_seconds', help: 'HTTP request latency by method and route', labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  // Filled as routes register below; a label for unmatched paths keeps metric cardinality bounded.
  const knownPaths = new Set<string>();
  let nextRequestId = 0;
  const idPrefix = Math.random().toString(36).slice(2, 8);

  app.use('*', async (c, next) => {
    const started = performance.now();
    const requestId = c.req.header('x-request-id') ?? `${idPrefix}-${(++nextRequestId).toString(36)}`;
    c.set('requestId', requestId);
    // Set before the handler builds its response: a header added afterwards makes hono rebuild the
    // response around a stream body, which costs @hono/node-server its fast path (~a third of a GET).
    c.header('x-request-id', requestId);
    await next();
    const matched = routePath(c, -1);
    const route = knownPaths.has(matched) ? matched : 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    latency.observe({ method: c.req.method, route }, seconds);
    if (deps.logger.enabled('debug')) {
      deps.logger.debug('request', { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1e4) / 10 });
    }
  });

  app.use('/v1/*', (c, next) => {
    // ?access_token= only where a header cannot be set (EventSource); elsewhere it would only
    // widen where tokens leak (URL logs, referrers).
    const principal = authenticate(deps.credentials, c.req.raw, c.req.path.endsWith('/events'));
    // A known token continues at once; only a first sighting waits for its verification.
    if (!(principal instanceof Promise)) { c.set('principal', principal); return next(); }
    return principal.then((p) => { c.set('principal', p); return next(); });
  });

  twinRoutes(app, table, { twins: deps.twins, maxBodyBytes: deps.maxBodyBytes });
  reportedRoutes(app, table, { twins: deps.twins, maxBodyBytes: deps.maxBodyBytes });
  historyRoutes(app, table, {
    twins: deps.twins, stream: deps.stream ?? { heartbeatMs: 15_000, maxQueued: 1000 }, onShutdown: deps.onShutdown ?? (() => () => {}),
    openStreams: deps.metrics.gauge({ name: 'doppel_http_event_streams', help: 'Open server-sent event streams (GET /v1/twins/{id}/events)' }),
    quota: deps.streams ?? createStreamQuota({ maxTotal: Number.MAX_SAFE_INTEGER, maxPerCredential: Number.MAX_SAFE_INTEGER }),
  });
  commandRoutes(app, table, { twins: deps.twins, maxBodyBytes: deps.maxBodyBytes, onShutdown: deps.onShutdown ?? (() => () => {}) });
  commandMetrics(deps.twins.commands as TwinService['commands'] | undefined, deps.metrics);
  jobRoutes(app, table, { jobs: deps.jobs, maxBodyBytes: deps.maxBodyBytes });
  keyRoutes(app, table, { credentials: deps.credentials, maxBodyBytes: deps.maxBodyBytes, now });
  if (deps.connectors !== undefined) connectorRoutes(app, table, { connectors: deps.connectors, maxBodyBytes: deps.maxBodyBytes });
  if (deps.store !== undefined) backupRoutes(app, table, { store: deps.store, now });
  if (deps.cluster !== undefined) clusterRoutes(app, table, { cluster: deps.cluster });
  consoleRoutes(app, table);
  opsRoutes(app, table, { metrics: deps.metrics, metricsAuth: deps.metricsAuth, credentials: deps.credentials, isReady: deps.isReady });

  documentationRoutes(app, table, { readTextFile: deps.readTextFile, home: deps.home ?? HOME_PAGE });

  for (const spec of table.specs) knownPaths.add(spec.path);
  const allowed = allowedMethods(app.routes);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    const error = methods.length === 0
      ? new DoppelError('not_found', `No route ${c.req.method} ${c.req.path}`)
      : new DoppelError('method_not_allowed', `Method ${c.req.method} not allowed on ${c.req.path}: use ${methods.join(', ')}`);
    const { response } = problemResponse(error, c.req.path);
    if (methods.length > 0) response.headers.set('allow', methods.join(', '));
    response.headers.set('x-request-id', c.get('requestId'));
    return response;
  });
  app.onError((err, c) => {
    const { response, error } = problemResponse(err, c.req.path);
    response.headers.set('x-request-id', c.get('requestId'));
    if (error.code === 'internal') deps.logger.error('request failed', { requestId: c.get('requestId'), path: c.req.path, err });
    if (error.code === 'unavailable') deps.logger.warn('request refused', { requestId: c.get('requestId'), path: c.req.path, reason: error.message });
    return response;
  });

  return { app, routes: table };
}
