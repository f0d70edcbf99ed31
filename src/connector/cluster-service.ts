/**
 * @module
 * Connectors in cluster mode (docs/design/cluster.md §11). Definitions live in the cluster's
 * connectors bucket, so every node lists the same ones; the twin stream is the outbox (each
 * record carries its change's connector events, atomically); the node holding a connector's
 * lease (the shard lease of `connector:<id>`) delivers it, from the connector's durable consumer,
 * so a killed node's connectors go on from another node where the consumer's ack floor stands.
 */
import { fail } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MetricsRegistry } from '../metrics/index.ts';
import { ConnectorBucket, ZERO_NUMBERS } from '../store/jetstream/connectors.ts';
import type { ClusterConnector } from '../store/jetstream/connectors.ts';
import type { Connected } from '../store/jetstream/connection.ts';
import type { StoreOp } from '../store/types.ts';
import type { Command } from '../twin/commands.ts';
import { toPublicTwin } from '../twin/index.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import { publicDefinition, toStoredConnector } from './definition.ts';
import type { ConnectorDefinition } from './definition.ts';
import type { ConnectorRegistry } from './registry.ts';
import { commandEvent, deletionEvent } from './select.ts';
import type { OutgoingEvent } from './select.ts';
import { connectorMetrics } from './service.ts';
import type { OutboxPlanner } from './service.ts';
import { StreamWorker } from './stream-worker.ts';
import { targetOf } from './targets/index.ts';

/** What this needs of the cluster node (src/cluster/cluster-node.ts). */
export interface ConnectorCluster {
  readonly id: string;
  readonly replicas: number;
  readonly store: { readonly connected: Connected; retainFrom?: () => Promise<number> };
  /** True while this node holds the lease of `key`'s shard. */
  owns(key: string): boolean;
}

const NONE: StoreOp[] = [];
/** The connector field of a record's outbox op: selection happens at delivery, for every connector. */
const EVERY_CONNECTOR = 'cluster';
const NO_CONNECTION = { online: false, via: null, lastSeenAt: null } as const;
/** How often a node re-reads the definitions and takes or lets go of connectors. */
const TICK_MS = 1_000;

/** The key whose shard lease says which node delivers connector `id`. */
export const connectorLeaseKey = (id: string): string => `connector:${id}`;

export class ClusterConnectors implements OutboxPlanner, ConnectorRegistry {
  readonly #cluster: ConnectorCluster;
  readonly #logger: Logger;
  readonly #namespace: string;
  readonly #workers = new Map<string, { def: ClusterConnector; worker: StreamWorker; bucket: ConnectorBucket }>();
  readonly #outcomes: (id: string, outcome: 'delivered' | 'failed' | 'dropped') => void;
  #bucket: ConnectorBucket | null = null;
  /** Some connector filters (as last read): deletions then carry the twin for the filter. */
  #filtering = false;
  #retain: { at: number; from: number } | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticking: Promise<void> | null = null;
  #closed = false;
  readonly #window: number | undefined;

  /** `window`: each connector consumer's max_ack_pending (tests make it small). */
  constructor(opts: { cluster: ConnectorCluster; namespace: string; logger: Logger; metrics?: MetricsRegistry; window?: number }) {
    this.#cluster = opts.cluster;
    this.#window = opts.window;
    this.#namespace = opts.namespace;
    this.#logger = opts.logger;
    this.#outcomes = opts.metrics === undefined ? () => {} : connectorMetrics(opts.metrics, this);
    // A deletion must not purge records a connector has yet to deliver (its twin's last changes).
    opts.cluster.store.retainFrom = () => this.#retainFrom();
  }

  /**
   * The lowest stream sequence a connector still needs. A finite answer is reused for a second
   * (bulk deletions): ack floors only rise, and a connector created meanwhile starts above it.
   * "No connector" (Infinity) is never reused: one may be created the next moment.
   */
  async #retainFrom(): Promise<number> {
    const now = Date.now();
    if (this.#retain !== null && now - this.#retain.at < TICK_MS) return this.#retain.from;
    const from = await (await this.#open()).retainFrom();
    this.#retain = Number.isFinite(from) ? { at: now, from } : null;
    return from;
  }

  /** Nothing to read before the start: definitions are read from the cluster on every tick. */
  async load(): Promise<void> {}

  start(): void {
    this.#timer ??= setInterval(() => { void this.#tick(); }, TICK_MS);
    void this.#tick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#ticking;
    await Promise.all([...this.#workers.values()].map((w) => w.worker.stop()));
    this.#workers.clear();
  }

  /** Changes ride in the record's events already: nothing to add. */
  changeOps(_state: TwinState, _event: ChangeEvent): StoreOp[] { return NONE; }

  /**
   * Always carried, even before this node knows of any connector: a connector created a moment
   * ago on another node must not miss it. Only the twin for filters waits for a filtering one.
   */
  deletedOps(state: TwinState, at: string): StoreOp[] {
    // A tombstone stores no twin: filters see the one before the deletion, carried along.
    const view = this.#filtering ? toPublicTwin(state, NO_CONNECTION) : null;
    return [outboxOp(deletionEvent(state, at, () => view), view)];
  }

  /** Always carried (see deletedOps); the record names the command rather than repeating it. */
  commandOps(command: Command, twin: TwinState | undefined): StoreOp[] {
    // With the twin at hand, filters see the record's own state (the same twin).
    return [outboxOp(commandEvent(command, () => null), twin === undefined ? null : undefined)];
  }

  committed(_ops: readonly StoreOp[]): void {}

  async add(def: ConnectorDefinition): Promise<Record<string, unknown>> {
    const stored = toStoredConnector(def, new Date().toISOString());
    if (await (await this.#open()).create(stored) === false) throw fail('already_exists', `Connector "${def.id}" already exists`);
    this.#filtering ||= stored.filter !== null;
    void this.#tick();
    return this.view(def.id);
  }

  async list(): Promise<Record<string, unknown>[]> {
    return (await (await this.#open()).list()).map(publicDefinition);
  }

  /** The definition with its delivery numbers (published every second by the delivering node). */
  async view(id: string): Promise<Record<string, unknown>> {
    const bucket = await this.#open();
    const def = await bucket.get(id);
    if (def === undefined) throw fail('not_found', `No connector "${id}"`);
    // The delivering node answers from its worker; the others from what it last published.
    const local = this.#workers.get(id);
    const n = local !== undefined && local.def.startSeq === def.startSeq ? { ...local.worker.stats, oldestAt: local.worker.oldestAt } : (await bucket.numbers(id)) ?? ZERO_NUMBERS;
    const lag = n.oldestAt === null ? 0 : Math.max(0, (Date.now() - n.oldestAt) / 1000);
    return { ...publicDefinition(def), delivered: n.delivered, failed: n.failed, dropped: n.dropped, lag, lastError: n.lastError, state: n.state };
  }

  async remove(id: string): Promise<void> {
    const bucket = await this.#open();
    if (await bucket.get(id) === undefined) throw fail('not_found', `No connector "${id}"`);
    const local = this.#workers.get(id);
    this.#workers.delete(id);
    await local?.worker.stop(false);
    await bucket.remove(id);
  }

  /** Numbers for /metrics, for the connectors this node delivers. */
  samples(): { id: string; lagSeconds: number; healthy: boolean }[] {
    const now = Date.now();
    return [...this.#workers.values()].map(({ def, worker }) => ({
      id: def.id, healthy: worker.stats.state === 'healthy', lagSeconds: worker.oldestAt === null ? 0 : Math.max(0, (now - worker.oldestAt) / 1000),
    }));
  }

  /** The bucket on the store's current connection (reopened after a reconnect); `unavailable` while there is none. */
  async #open(): Promise<ConnectorBucket> {
    const c = this.#cluster.store.connected;
    if (this.#bucket?.connected !== c) this.#bucket = await ConnectorBucket.open(c, this.#namespace, this.#cluster.replicas);
    return this.#bucket;
  }

  #tick(): Promise<void> {
    this.#ticking ??= this.#settle().catch((err: unknown) => {
      this.#logger.debug('connectors: cannot read the definitions now', { err: String(err instanceof Error ? err.message : err) });
    }).finally(() => { this.#ticking = null; });
    return this.#ticking;
  }

  /** Starts the workers of the connectors this node holds, stops the others. */
  async #settle(): Promise<void> {
    if (this.#closed) return;
    const bucket = await this.#open();
    const defs = await bucket.list();
    this.#filtering = defs.some((d) => d.filter !== null);
    const wanted = new Map(defs.filter((d) => this.#cluster.owns(connectorLeaseKey(d.id))).map((d) => [d.id, d]));
    for (const [id, running] of this.#workers) {
      const def = wanted.get(id);
      // A connector deleted and created again under the same id is a new connector.
      // A worker on a connection since replaced (a reconnect) starts again on the new one.
      if (def !== undefined && def.startSeq === running.def.startSeq && def.createdAt === running.def.createdAt && running.bucket === bucket) continue;
      this.#workers.delete(id);
      await running.worker.stop(defs.some((d) => d.id === id && d.startSeq === running.def.startSeq));
    }
    for (const def of wanted.values()) {
      if (this.#workers.has(def.id) || this.#closed) continue;
      const worker = new StreamWorker(def, { bucket, target: targetOf(def), logger: this.#logger, node: this.#cluster.id, owns: () => this.#cluster.owns(connectorLeaseKey(def.id)), onOutcome: (o) => this.#outcomes(def.id, o), ...(this.#window === undefined ? {} : { window: this.#window }) });
      this.#workers.set(def.id, { def, worker, bucket });
      this.#logger.info('delivering connector', { connector: def.id, node: this.#cluster.id });
      worker.start();
    }
  }
}

function outboxOp(e: OutgoingEvent, view: object | null | undefined): StoreOp {
  return {
    type: 'putOutbox',
    entry: { connector: EVERY_CONNECTOR, seq: 0, twin: e.twinId, type: e.type, eventId: e.eventId, at: e.at, event: e.event, ...(view === undefined ? {} : { view }) },
  };
}
