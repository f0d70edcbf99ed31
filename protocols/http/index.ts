/**
 * @module
 * The integrators' HTTP API (CONTRACT §5) as a hono app. `createApp(deps)` builds it apart from
 * listening (fastify's build/listen split), so tests can call `app.request()` without a socket and
 * any runtime adapter can serve `app.fetch`. Errors become problem+json (a wrong method on a known
 * path is 405 with `Allow`, an unknown path 404); every /v1 route needs a bearer credential.
 */
import { Hono } from 'hono';
import { createStreamQuota } from '../../src/auth/index.ts';
import type { Credentials, StreamQuota } from '../../src/auth/index.ts';
import type { Logger } from '../../src/log.ts';
import type { MetricsRegistry } from '../../src/metrics/index.ts';
import type { TwinStore } from '../../src/store/index.ts';
import type { TwinService } from '../../actors/index.ts';
import { commandMetrics } from '../../actors/command-metrics.ts';
import { allowedMethods } from './methods.ts';
import { createPipeline } from './pipeline.ts';
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
  const pipeline = createPipeline(deps);
  table.wrap = pipeline.wrap;

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

  const allowed = allowedMethods(app.routes);
  app.notFound((c) => pipeline.notFound(c, allowed));
  // Errors outside a route's handler (the pipeline answers those inside it).
  app.onError((err, c) => pipeline.errorReply(err, c));

  return { app, routes: table };
}
