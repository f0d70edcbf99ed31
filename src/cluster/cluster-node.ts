/**
 * One Doppel node of a cluster: the JetStream store instead of LevelDB, the change feed fed from
 * the twin stream, credential caches kept in step through the credentials bucket, a heartbeat in
 * the node registry, and readiness that follows the JetStream quorum.
 *
 * Connecting: the first attempt happens at start; a bad configuration found then (replicas the
 * servers cannot hold, a node id already live) refuses the start. If NATS cannot be reached the
 * node starts anyway, not ready (writes answer `unavailable`), and keeps retrying, logging why.
 */
import type { Credentials } from '../auth/index.ts';
import { isDoppelError } from '../errors.ts';
import type { Config } from '../config.ts';
import { natsUrls } from '../config.ts';
import type { Logger } from '../log.ts';
import { createJetStreamStore, CredentialWatch, RecordFollower } from '../store/jetstream/index.ts';
import type { JetStreamStore } from '../store/jetstream/index.ts';
import type { RoutedOp, TwinRouter } from '../../actors/twins.ts';
import type { Connection } from '../twin/types.ts';
import { DoppelError } from '../errors.ts';
import { ClusterFeed } from './cluster-feed.ts';
import { NatsCommandRelay } from './command-relay.ts';
import { ConnectionQuery } from './connection-query.ts';
import { Leases } from './leases.ts';
import { LeaseBucket } from './lease-bucket.ts';
import { JobLeases } from './job-leases.ts';
import type { JobLeases as JobLeaseSeam } from '../job/leases.ts';
import { ShardRouter } from './router.ts';
import { shardOf } from './shards.ts';
import { HEARTBEAT_MS, NodeRegistry } from './node-registry.ts';
import type { NodeStatus } from './node-registry.ts';

export const NAMESPACE = 'doppel';
const RETRY_MS = 1_000;
/** How long a JetStream request (a commit, a read) may take before it answers `unavailable`. */
const REQUEST_TIMEOUT_MS = 4_000;

export interface ClusterView { nodes: NodeStatus[]; replicas: number }

export interface ClusterNodeOptions {
  config: Config & { cluster: string; nodeId: string };
  logger: Logger;
  onListenerError?: (err: unknown) => void;
}

/** What the node needs of the twin service: run forwarded requests, drop actors of lost shards. */
export interface ClusterTwins {
  invoke(op: RoutedOp, args: unknown[]): Promise<unknown>;
  dropWhere(disowned: (id: string) => boolean): number;
  residentConnections(ids: readonly string[]): Array<[string, Connection]>;
  readonly stats: { resident: number };
}

export class ClusterNode implements TwinRouter {
  readonly store: JetStreamStore;
  readonly feed: ClusterFeed;
  /** Commands' device sessions and waiters across nodes. */
  readonly relay: NatsCommandRelay;
  readonly id: string;
  readonly replicas: number;
  readonly #logger: Logger;
  readonly #instance = crypto.randomUUID();
  #url: string | undefined;
  #registry: NodeRegistry | null = null;
  #follower: RecordFollower | null = null;
  #watch: CredentialWatch | null = null;
  #credentials: Pick<Credentials, 'forget'> | null = null;
  #twins: ClusterTwins | null = null;
  #leases: Leases | null = null;
  #jobLeases: JobLeases | null = null;
  /** Fleet job leases for the job service (none held while not connected). */
  readonly jobLeases: JobLeaseSeam = {
    acquire: (job) => this.#jobLeases?.acquire(job) ?? Promise.resolve(false),
    holds: (job) => this.#jobLeases?.holds(job) ?? false,
    release: (job) => this.#jobLeases?.release(job) ?? Promise.resolve(),
    forget: (job) => this.#jobLeases?.forget(job) ?? Promise.resolve(),
  };
  #router: ShardRouter | null = null;
  #connections: ConnectionQuery | null = null;
  #quorum = false;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #closed = false;
  #beating = false;

  constructor(o: ClusterNodeOptions) {
    this.id = o.config.nodeId;
    this.replicas = o.config.clusterReplicas;
    this.#logger = o.logger;
    this.feed = new ClusterFeed(o.onListenerError);
    this.relay = new NatsCommandRelay(this.id, NAMESPACE);
    this.store = createJetStreamStore({
      servers: natsUrls(o.config.cluster), replicas: o.config.clusterReplicas, namespace: NAMESPACE,
      historyRetention: o.config.historyRetention, timeoutMs: REQUEST_TIMEOUT_MS, name: o.config.nodeId,
    });
  }

  /** True while the node is connected and the twin stream has a leader (a JetStream quorum). */
  get ready(): boolean { return this.#quorum && this.#registry !== null && !this.#closed; }

  /**
   * First connection attempt: throws on a configuration NATS refuses; on anything else logs and
   * keeps retrying in the background.
   */
  async connect(): Promise<void> {
    try {
      await this.#connectOnce();
    } catch (err) {
      if (isDoppelError(err) && err.code === 'invalid_request') throw err;
      this.#logger.warn('cannot reach the NATS cluster; retrying (not ready meanwhile)', { err: String(err instanceof Error ? err.message : err) });
      void this.#retry();
    }
  }

  async #retry(): Promise<void> {
    let attempts = 0;
    while (!this.#closed) {
      await new Promise((r) => setTimeout(r, RETRY_MS));
      if (this.#closed) return;
      try {
        await this.#connectOnce();
        this.#logger.info('connected to the NATS cluster', { node: this.id });
        return;
      } catch (err) {
        attempts++;
        // One line every ten attempts: an unreachable NATS must not flood the log.
        if (attempts % 10 === 0 || (isDoppelError(err) && err.code === 'invalid_request')) {
          this.#logger.error('still cannot use the NATS cluster; retrying', { err: String(err instanceof Error ? err.message : err), attempts });
        }
      }
    }
  }

  async #connectOnce(): Promise<void> {
    await this.store.open();
    try {
      const c = this.store.connected;
      const registry = await NodeRegistry.open(c, NAMESPACE, this.replicas, () => ({ id: this.id, instance: this.#instance, ...(this.#url === undefined ? {} : { url: this.#url }) }));
      await registry.join(0);
      const self = { id: this.id, instance: this.#instance };
      const bucket = await LeaseBucket.open(c, NAMESPACE, this.replicas);
      const leases = new Leases(bucket, self, {
        gained: (shard) => { void this.#adoptCommands(shard); },
        lost: (shard) => { this.#twins?.dropWhere((id) => shardOf(id) === shard); },
      });
      const router = new ShardRouter(c.nc, leases, (node) => `dpl.${NAMESPACE}.node.${node}`);
      router.serve(this.id, (op, args) => {
        if (this.#twins === null) return Promise.reject(new DoppelError('unavailable', 'Node is starting'));
        return this.#twins.invoke(op, args);
      });
      const connections = new ConnectionQuery(c.nc, leases, NAMESPACE);
      connections.serve(this.id, (ids) => this.#twins?.residentConnections(ids) ?? []);
      const follower = new RecordFollower(c, (twin, record) => this.feed.deliver(twin, record), (err) => this.#logger.warn('following the twin stream failed; resuming', { err: String(err) }));
      await follower.start();
      const watch = new CredentialWatch(c.credentials, (id) => this.#credentials?.forget(id), (err) => this.#logger.warn('watching credentials failed; resuming', { err: String(err) }));
      await watch.start();
      this.relay.connect(c.nc);
      this.#follower = follower;
      this.#watch = watch;
      this.#registry = registry;
      this.#leases = leases;
      this.#jobLeases = new JobLeases(bucket, self);
      this.#router = router;
      this.#connections = connections;
      this.#quorum = true;
      if (this.#twins !== null) void this.#beat();
    } catch (err) {
      await this.#stopFollowing();
      await this.store.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A gained shard's command expiry timers lived on its previous owner: reading each of its
   * twins' commands here expires the due ones and arms this node's timers (one twin at a time).
   */
  async #adoptCommands(shard: number): Promise<void> {
    try {
      for (const id of await this.store.commandTwins()) {
        if (shardOf(id) !== shard || this.#closed || this.#twins === null) continue;
        await this.#twins.invoke('command.list', [id]).catch(() => undefined);
      }
    } catch (err) {
      this.#logger.warn('reading the commands of a gained shard failed; they expire on their next read', { shard, err: String(err instanceof Error ? err.message : err) });
    }
  }

  /**
   * Wires what the node needs once the server is assembled: whom to tell about changed
   * credentials, how many twins it owns, and the URL it serves on (shown by `GET /v1/cluster`).
   */
  attach(deps: { credentials: Pick<Credentials, 'forget'>; twins: ClusterTwins; url: string }): void {
    this.#credentials = deps.credentials;
    this.#twins = deps.twins;
    this.#url = deps.url;
    this.#timers.push(setInterval(() => { void this.#beat(); }, HEARTBEAT_MS));
    void this.#beat(); // announces the URL now rather than a heartbeat later
  }

  /** Heartbeat and quorum probe: a node that cannot reach a JetStream quorum is not ready. */
  async #beat(): Promise<void> {
    const registry = this.#registry;
    // One beat at a time: overlapping lease writes would race each other's revisions.
    if (registry === null || this.#closed || this.#beating) return;
    this.#beating = true;
    try {
      await this.store.probe();
      await registry.heartbeat(this.#twins?.stats.resident ?? 0);
      const alive = (await registry.list()).filter((n) => n.alive).map((n) => n.id);
      await this.#leases?.tick(alive);
      if (!this.#quorum) this.#logger.info('JetStream quorum is back; ready', { node: this.id });
      this.#quorum = true;
    } catch (err) {
      if (this.#quorum) this.#logger.warn('JetStream quorum lost; not ready', { node: this.id, err: String(err instanceof Error ? err.message : err) });
      this.#quorum = false;
    } finally {
      this.#beating = false;
    }
  }

  async view(): Promise<ClusterView> {
    const registry = this.#registry;
    if (registry === null) return { nodes: [{ id: this.id, ...(this.#url === undefined ? {} : { url: this.#url }), alive: false, twinsOwned: 0 }], replicas: this.replicas };
    return { nodes: await registry.list(), replicas: this.replicas };
  }

  owns(id: string): boolean { return this.#leases?.holds(shardOf(id)) ?? false; }

  route<T>(op: RoutedOp, id: string, args: unknown[], local: () => Promise<T>): Promise<T> {
    const router = this.#router;
    if (router === null || this.#closed) return Promise.reject(new DoppelError('unavailable', 'Not connected to the cluster yet: retry', { retryAfter: 1 }));
    return router.route(op, id, args, local).catch((err: unknown) => { throw withRetryAfter(err); });
  }

  /** Listings: the owners' connections of listed twins owned elsewhere (connection-query.ts). */
  async connectionsOf(ids: readonly string[]): Promise<ReadonlyMap<string, Connection>> {
    return this.#connections === null || this.#closed ? new Map() : this.#connections.ask(ids);
  }

  /** Requests forwarded to another node, and shard leases gained or lost, since start (metrics). */
  get stats(): { forwarded: number; leaseChanges: number; shardsHeld: number } {
    return { forwarded: this.#router?.forwarded ?? 0, leaseChanges: this.#leases?.changes ?? 0, shardsHeld: this.#leases?.owned ?? 0 };
  }

  async #stopFollowing(): Promise<void> {
    this.#router?.stop();
    this.#router = null;
    this.#connections?.stop();
    this.#connections = null;
    this.relay.stop();
    this.#watch?.stop();
    this.#watch = null;
    await this.#follower?.stop();
    this.#follower = null;
  }

  /** Leaves the registry and closes the store (after the server drained its actors). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#leases?.releaseAll().catch(() => undefined);
    await this.#registry?.leave().catch(() => undefined);
    this.#registry = null;
    await this.#stopFollowing();
    await this.store.close();
  }
}

/**
 * In a cluster an `unavailable` is nearly always brief (a lease moving, a leader election, a
 * quorum coming back): say when to retry (HTTP Retry-After, CoAP Max-Age).
 */
function withRetryAfter(err: unknown): unknown {
  if (!isDoppelError(err) || err.code !== 'unavailable' || err.retryAfter !== undefined) return err;
  return new DoppelError('unavailable', err.message, { retryAfter: 1, cause: err.cause, ...(err.details === undefined ? {} : { details: err.details }) });
}
