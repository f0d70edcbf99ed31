/**
 * @module
 * Server assembly: store + credentials + actors + protocol edges, start and stop. The only module
 * that wires protocols in. `startServer` resolves once every listener is bound; `close()` drains:
 * stop accepting, finish in-flight writes, close LevelDB.
 */
import { TwinService } from '../actors/index.ts';
import { JobService } from '../actors/job-service.ts';
import { createApp } from '../protocols/http/index.ts';
import { createCoapEndpoint } from '../protocols/coap/index.ts';
import { createWsEndpoint } from '../protocols/ws/index.ts';
import { createCredentials, createRateLimiter, createStreamQuota } from './auth/index.ts';
import { resolveAdminToken } from './admin-token.ts';
import { bindFailure, storeOpenFailure } from './startup-failure.ts';
import { maskConfig, natsUrls } from './config.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { ConnectorService } from './connector/service.ts';
import { createRegistry, registerProcessMetrics } from './metrics/index.ts';
import type { Runtime } from './runtime/types.ts';
import { createLevelStore } from './store/index.ts';
import type { LevelStoreTestHooks, TwinStore } from './store/index.ts';
import { loadTls } from './tls.ts';
import { inClusterMode } from './cluster/mode.ts';

export interface DoppelServer {
  readonly httpPort: number;
  /** The bound CoAP UDP port (useful with `--coap 0`). */
  readonly coapPort: number;
  readonly adminToken: string;
  readonly twins: TwinService;
  readonly store: TwinStore;
  /** Graceful stop; safe to call more than once. */
  close(): Promise<void>;
}

/** Assembly options that are not configuration: seams for the in-process fault tests. */
export interface ServerOptions {
  /** Fault injection into the store's write path (tests only). */
  storeHooks?: LevelStoreTestHooks;
}

export async function startServer(config: Config, runtime: Runtime, logger: Logger, options: ServerOptions = {}): Promise<DoppelServer> {
  const started = performance.now();
  logger.debug('configuration', { config: maskConfig(config) });
  // Before anything is created: a bad certificate or key must not leave a data directory behind.
  const tls = await loadTls(config, runtime);
  // Without fsync a write acknowledged to a device can vanish with the OS page cache on power loss.
  if (!config.sync && !inClusterMode(config)) logger.warn('sync is off (--sync false): acknowledged writes may be lost on power loss or an OS crash; they survive a process crash');
  // Nothing is generated or announced before the store's lock and both ports are ours: a start
  // that fails removes a data directory it created and leaves no admin token behind.
  const dbPath = runtime.joinPath(config.data, 'db');
  // Cluster mode keeps the state in JetStream; the data directory holds only the admin token. Its
  // code and the NATS client are loaded only then: a single-node start does not pay for them.
  const clusterCode = inClusterMode(config) ? await import('./cluster/index.ts') : null;
  if (clusterCode !== null && inClusterMode(config)) clusterCode.assertNatsAccess(natsUrls(config.cluster), runtime);
  const cluster = clusterCode !== null && inClusterMode(config) ? new clusterCode.ClusterNode({ config, logger, onListenerError: (err) => logger.error('subscriber failed', { err }) }) : null;
  const created = !(await runtime.exists(config.data)) ? config.data : cluster === null && !(await runtime.exists(dbPath)) ? dbPath : null;
  const store: TwinStore = cluster?.store ?? createLevelStore({ path: dbPath, sync: config.sync, ...(options.storeHooks ? { testHooks: options.storeHooks } : {}) });
  try {
    await (cluster === null ? store.open() : cluster.connect());
  } catch (err) {
    throw storeOpenFailure(err, config.data);
  }
  const undoStart = async () => {
    await (cluster === null ? store.close() : cluster.close());
    if (created !== null) await runtime.removeTree(created);
  };
  const admin = await resolveAdminToken(runtime, config.data, config.adminToken);

  const metrics = createRegistry();

  const batchOps = metrics.histogram({ name: 'doppel_store_batch_ops', help: 'Operations per physical LevelDB batch (group commit)', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] });
  const batchSeconds = metrics.histogram({ name: 'doppel_store_batch_duration_seconds', help: 'Time to write one LevelDB batch', buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5] });
  const commits = metrics.counter({ name: 'doppel_store_commits_total', help: 'Commits (each one change, atomically) written' });
  const failedCommits = metrics.counter({ name: 'doppel_store_failed_commits_total', help: 'Commits refused with unavailable because their LevelDB batch failed (disk full, I/O error)' });
  let lastFailureLog = 0;
  let observeCommit: ((ms: number) => void) | undefined;
  store.onBatch = (s) => {
    if (!s.failed) observeCommit?.(s.ms);
    batchOps.observe(undefined, s.ops);
    batchSeconds.observe(undefined, s.ms / 1000);
    if (!s.failed) { commits.inc(undefined, s.commits); return; }
    failedCommits.inc(undefined, s.commits);
    // One line a second at most: a full disk fails every batch, and the log may share that disk.
    const now = Date.now();
    if (now - lastFailureLog >= 1000) { lastFailureLog = now; logger.error('storage write failed; writes answer unavailable until it heals', { commits: s.commits }); }
  };

  const credentials = await createCredentials({
    store, adminToken: admin.token, limiter: createRateLimiter(),
    limits: { device: { rate: config.deviceRate, burst: config.deviceBurst }, key: { rate: config.keyRate, burst: config.keyBurst } },
  });
  const activation = metrics.histogram({
    name: 'doppel_actors_activation_seconds', help: 'Time to load a twin into its actor on activation: store read, decode, compaction (no queueing, no protocol)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
  });
  // Cluster mode: definitions in the cluster, the twin stream as the outbox (docs/design/cluster.md §11).
  const connectors = cluster === null ? new ConnectorService({ store, logger, metrics }) : new (await import('./connector/cluster-service.ts')).ClusterConnectors({ cluster, namespace: clusterCode!.CLUSTER_NAMESPACE, logger, metrics, ...testConnectorWindow(runtime) });
  await connectors.load().catch(async (err: unknown) => { await undoStart(); throw err; });
  const twins = new TwinService({
    store, credentials, outbox: connectors,
    limits: { desiredBytes: config.desiredBytes, reportedBytes: config.reportedBytes, tagsBytes: config.tagsBytes, maxDepth: config.maxDepth, maxKeyLength: config.maxKeyLength },
    historyRetention: config.historyRetention,
    livenessMs: config.livenessSeconds * 1000,
    maxResident: config.maxResidentTwins,
    idleMs: config.idleSeconds * 1000,
    maxPendingPerTwin: config.maxPendingPerTwin,
    onListenerError: (err) => logger.error('subscriber failed', { err }),
    onActivation: (seconds) => activation.observe(undefined, seconds),
    ...(cluster === null ? {} : { feed: cluster.feed, router: cluster }),
  });
  if (cluster !== null) observeCommit = clusterCode!.registerClusterMetrics(metrics, cluster, twins);
  metrics.gauge({ name: 'doppel_actors_resident', help: 'Twin actors in memory', collect: () => twins.stats.resident });
  metrics.counter({ name: 'doppel_actors_activated_total', help: 'Twin actors activated (loaded into memory) since start', collect: () => twins.stats.activated });
  metrics.counter({ name: 'doppel_actors_passivated_total', help: 'Twin actors passivated (dropped from memory) since start', collect: () => twins.stats.passivated });
  metrics.gauge({ name: 'doppel_twins_out_of_sync', help: 'Twins whose device has not converged to desired (NaN until counted at startup)', collect: () => twins.outOfSync ?? Number.NaN });
  let oldestPendingSince: string | undefined;
  const refreshOldest = () => {
    twins.oldestPendingSince().then((since) => { oldestPendingSince = since; }, () => {});
    // Other nodes change twins too: recount from the shared index rather than only following this node's commits.
    if (cluster !== null) twins.countOutOfSync().catch(() => {});
  };
  metrics.gauge({
    name: 'doppel_oldest_pending_delta_seconds', help: 'Age of the oldest pending delta: how long the least converged device has been out of sync (0 when all are in sync; refreshed every 5 s)',
    collect: () => (oldestPendingSince === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldestPendingSince)) / 1000)),
  });
  metrics.gauge({ name: 'doppel_mailbox_pending', help: 'Messages queued or running across all twin actors', collect: () => twins.stats.pending });

  const jobTwins = metrics.counter({ name: 'doppel_job_twins_total', help: 'Twins fleet jobs handled, by outcome (done, failed: matched; skipped: did not match)', labelNames: ['outcome'] });
  for (const outcome of ['done', 'failed', 'skipped']) jobTwins.inc({ outcome }, 0);
  const jobs = new JobService({
    twins, store, onTwin: (outcome) => jobTwins.inc({ outcome }),
    onError: (job, err) => logger.error(cluster === null ? 'fleet job stopped; it resumes at the next start' : 'fleet job stopped here; a node resumes it within seconds', { job, err }),
    ...(cluster === null ? {} : { leases: cluster.jobLeases }),
    retentionMs: config.jobRetentionDays * 86_400_000,
    pacing: { batchSize: config.jobBatchSize, pauseMs: config.jobPauseMs },
  });
  metrics.gauge({ name: 'doppel_jobs_running', help: 'Fleet jobs running in this process', collect: () => jobs.running });

  const streams = createStreamQuota({ maxTotal: config.maxStreams, maxPerCredential: config.maxStreamsPerCredential });
  metrics.gauge({ name: 'doppel_streams_open', help: 'Long-lived streams open (WebSocket connections and event streams)', collect: () => streams.open });

  let ready = false;
  const shutdownHooks = new Set<() => void>();
  const { app } = createApp({
    readTextFile: (path) => runtime.readTextFile(path),
    twins, credentials, metrics, logger, streams, store, jobs, connectors,
    maxBodyBytes: config.maxBodyBytes, metricsAuth: config.metricsAuth,
    isReady: () => ready && (cluster?.ready ?? true),
    ...(cluster === null ? {} : { cluster }),
    onShutdown: (hook) => { shutdownHooks.add(hook); return () => { shutdownHooks.delete(hook); }; },
  });
  const websocket = createWsEndpoint({
    twins, credentials, logger, metrics,
    maxPayload: config.maxBodyBytes,
    heartbeatMs: config.wsPingSeconds * 1000,
    maxBacklogBytes: config.wsMaxBacklogBytes,
    maxSubscriptions: config.wsMaxSubscriptions,
    streams,
  });
  const http = await runtime.serveHttp(app.fetch, { host: config.host, port: config.http, websocket, ...(tls === undefined ? {} : { tls }) }).catch(async (err: unknown) => {
    // A port in use, or TLS material the runtime refused: nothing is served, so undo the start.
    await undoStart();
    throw bindFailure(err, { protocol: 'HTTP', host: config.host, port: config.http });
  });
  const coap = createCoapEndpoint({
    twins, credentials, logger, metrics,
    maxBodyBytes: config.maxBodyBytes, engine: config.coapEngine, cacheSize: config.coapCacheSize,
    confirmEvery: config.coapConfirmEvery, confirmSeconds: config.coapConfirmSeconds, maxObservers: config.coapMaxObservers, maxObserversPerTwin: config.coapMaxObserversPerTwin,
    ackTimeoutMs: config.coapAckTimeoutMs, maxRetransmit: config.coapMaxRetransmit,
  });
  let coapPort: number;
  try {
    coapPort = await coap.listen(config.host, config.coap);
  } catch (err) {
    await http.close(0);
    await undoStart();
    throw bindFailure(err, { protocol: 'CoAP', host: config.host, port: config.coap });
  }
  await admin.save();
  if (admin.generated) logger.info('admin token generated (shown once; also in the file)', { adminToken: admin.token, file: admin.file });
  // Background work starts once the start can no longer fail. Counted from the pending index in
  // the background: startup does not wait for a million keys.
  // In cluster mode NATS may still be out of reach: the 5 s refresh recounts, so one line, no stack.
  twins.countOutOfSync().catch((err: unknown) => {
    if (cluster === null) logger.error('counting twins out of sync failed', { err });
    else logger.warn('counting twins out of sync failed; retried every 5 s', { reason: err instanceof Error ? err.message : String(err) });
  });
  refreshOldest();
  jobs.resume().catch((err: unknown) => logger.error('resuming fleet jobs failed', { err }));
  const stopOldest = runtime.every(5000, refreshOldest);
  // Registered once every listener is bound, so a failed start leaves no loop-delay timer behind.
  const stopProcessMetrics = registerProcessMetrics(metrics, {
    usage: runtime.processUsage, startSampler: runtime.startMetricsSampler, startTimeSeconds: Date.now() / 1000 - performance.now() / 1000,
  });
  const stopSweep = runtime.every(Math.min(30_000, Math.max(1000, (config.idleSeconds * 1000) / 4)), () => { twins.sweep(); });
  connectors.start();
  ready = true;
  const scheme = tls === undefined ? 'http' : 'https';
  const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  cluster?.attach({ credentials, twins, url: `${scheme}://${urlHost}:${http.port}` });
  logger.info('listening', { http: http.port, tls: tls !== undefined, url: `${scheme}://${urlHost}:${http.port}`, coap: coapPort, host: config.host, data: config.data, runtime: runtime.name, startupMs: Math.round(performance.now() - started) });

  let closing: Promise<void> | null = null;
  return {
    httpPort: http.port,
    coapPort,
    adminToken: admin.token,
    twins,
    store,
    close: () => (closing ??= (async () => {
      ready = false;
      stopSweep();
      stopOldest();
      stopProcessMetrics();
      for (const hook of shutdownHooks) hook();
      websocket.close();
      // Each job finishes its batch in flight and stays running in the store, to resume at the next start.
      await jobs.stop();
      const httpClosed = http.close(config.shutdownSeconds * 1000);
      await twins.drain();
      // After the drain, so CoAP writes in flight still get their reply.
      await coap.close();
      await connectors.close();
      await (cluster === null ? store.close() : cluster.close());
      await httpClosed;
      logger.info('stopped');
    })()),
  };
}

/** Test only: DOPPEL_TEST_CONNECTOR_WINDOW shrinks cluster connectors' window (max_ack_pending) so tests reach it. */
function testConnectorWindow(runtime: Runtime): { window?: number } {
  const window = Number(runtime.env.DOPPEL_TEST_CONNECTOR_WINDOW);
  return Number.isInteger(window) && window > 0 ? { window } : {};
}
