/**
 * @module
 * The connectors of a running server: their definitions (stored, loaded at start), the outbox
 * planner the twin actors call inside each commit, one delivery worker per connector, and the
 * numbers the API and /metrics show.
 */
import { fail } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MetricsRegistry } from '../metrics/index.ts';
import type { StoreOp, StoredConnector, TwinStore } from '../store/types.ts';
import { toPublicTwin } from '../twin/index.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { Command } from '../twin/commands.ts';
import { publicDefinition, toStoredConnector } from './definition.ts';
import type { ConnectorDefinition } from './definition.ts';
import { outboxOps, toSelector } from './select.ts';
import type { OutgoingEvent, Selector } from './select.ts';
import { targetOf } from './targets/index.ts';
import { ConnectorWorker } from './worker.ts';
import type { ConnectorRegistry } from './registry.ts';

/**
 * What the twin actor asks inside a commit (actors/twin-actor.ts). The ops must be asked for in
 * the same synchronous step that passes them to `store.commit` (no `await` between): their seqs
 * are taken then, and the delivery workers rely on commits landing in seq order (worker.ts).
 */
export interface OutboxPlanner {
  /** Outbox ops for a change; `[]` at once when there are no connectors. */
  changeOps(state: TwinState, event: ChangeEvent): StoreOp[];
  /** Outbox ops for the deletion of the twin in `state`. */
  deletedOps(state: TwinState, at: string): StoreOp[];
  /** Outbox ops for a command's status change; `twin` (for filters) when known. */
  commandOps(command: Command, twin: TwinState | undefined): StoreOp[];
  /** Those ops are committed: their workers may deliver now. */
  committed(ops: readonly StoreOp[]): void;
}

const NONE: StoreOp[] = [];
/** The filter sees the twin as stored; connection state is not part of what an event carries. */
const NO_CONNECTION = { online: false, via: null, lastSeenAt: null } as const;

interface Running { def: StoredConnector; worker: ConnectorWorker; seq: number }

export class ConnectorService implements OutboxPlanner, ConnectorRegistry {
  readonly #store: TwinStore;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #running = new Map<string, Running>();
  /** Replaced whole on every add or remove, so a commit in flight sees one consistent list. */
  #selectors: Selector[] = [];
  #started = false;
  /** Ids being added right now: a second add of the same id is refused, not raced. */
  readonly #adding = new Set<string>();
  readonly #outcomes: ((id: string, outcome: 'delivered' | 'failed' | 'dropped') => void);

  constructor(opts: { store: TwinStore; logger: Logger; metrics?: MetricsRegistry; now?: () => Date }) {
    this.#store = opts.store;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
    this.#outcomes = opts.metrics === undefined ? () => {} : connectorMetrics(opts.metrics, this);
  }

  /** Reads the stored definitions and where each outbox ends. Before any twin write. */
  async load(): Promise<void> {
    if (this.#store.listConnectors === undefined) return;
    for (const def of await this.#store.listConnectors()) await this.#adopt(def);
  }

  /** Starts delivering (after the server can no longer fail to start). */
  start(): void {
    this.#started = true;
    for (const r of this.#running.values()) r.worker.start();
  }

  async close(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#running.values()].map((r) => r.worker.stop()));
  }

  changeOps(state: TwinState, event: ChangeEvent): StoreOp[] {
    if (this.#selectors.length === 0) return NONE;
    return this.#ops({ type: 'change', twinId: state.id, eventId: `${state.id}:${event.version}`, at: event.at, event, twin: () => toPublicTwin(state, NO_CONNECTION) });
  }

  deletedOps(state: TwinState, at: string): StoreOp[] {
    if (this.#selectors.length === 0) return NONE;
    const event = { twin: state.id, version: state.version, at };
    return this.#ops({ type: 'deleted', twinId: state.id, eventId: `${state.id}:${state.version}:deleted`, at, event, twin: () => toPublicTwin(state, NO_CONNECTION) });
  }

  commandOps(command: Command, twin: TwinState | undefined): StoreOp[] {
    if (this.#selectors.length === 0) return NONE;
    return this.#ops({
      type: 'command', twinId: command.twin, eventId: `${command.twin}:cmd:${command.id}:${command.status}`, at: command.updatedAt, event: command,
      twin: () => (twin === undefined ? null : toPublicTwin(twin, NO_CONNECTION)),
    });
  }

  committed(ops: readonly StoreOp[]): void {
    for (const op of ops) if (op.type === 'putOutbox') this.#running.get(op.entry.connector)?.worker.accept(op.entry);
  }

  #ops(e: OutgoingEvent): StoreOp[] {
    return outboxOps(this.#selectors, e, (id) => this.#running.get(id)!.seq++);
  }

  async add(def: ConnectorDefinition): Promise<Record<string, unknown>> {
    if (this.#store.listConnectors === undefined) throw fail('unavailable', 'Connectors are not available with this store: use the LevelDB store or cluster mode');
    if (this.#running.has(def.id) || this.#adding.has(def.id)) throw fail('already_exists', `Connector "${def.id}" already exists`);
    const stored = toStoredConnector(def, this.#now().toISOString());
    this.#adding.add(def.id);
    try {
      // A change planned just before an earlier connector of this id was removed may have landed
      // after its outbox was emptied: such strays must never reach the new target.
      await this.#purgeOutbox(def.id);
      await this.#store.commit([{ type: 'putConnector', connector: stored }]);
      await this.#adopt(stored);
    } finally {
      this.#adding.delete(def.id);
    }
    return this.view(def.id);
  }

  list(): Record<string, unknown>[] {
    return [...this.#running.keys()].sort().map((id) => publicDefinition(this.#running.get(id)!.def));
  }

  /** The definition with its delivery numbers; `lag` from the oldest entry still in the outbox. */
  async view(id: string): Promise<Record<string, unknown>> {
    const r = this.#running.get(id);
    if (r === undefined) throw fail('not_found', `No connector "${id}"`);
    const [oldest] = await this.#store.readOutbox!(id, 1);
    const lag = oldest === undefined ? 0 : Math.max(0, (this.#now().getTime() - Date.parse(oldest.at)) / 1000);
    const { delivered, failed, dropped, lastError, state } = r.worker.stats;
    return { ...publicDefinition(r.def), delivered, failed, dropped, lag, lastError, state };
  }

  /** Stops the connector, forgets it and empties its outbox. */
  async remove(id: string): Promise<void> {
    const r = this.#running.get(id);
    if (r === undefined) throw fail('not_found', `No connector "${id}"`);
    this.#running.delete(id);
    this.#selectors = this.#selectors.filter((s) => s.id !== id);
    await r.worker.stop();
    await this.#store.commit([{ type: 'deleteConnector', id }]);
    await this.#purgeOutbox(id);
  }

  /** Deletes every outbox entry of connector `id`, a thousand at a time. */
  async #purgeOutbox(id: string): Promise<void> {
    for (let batch = await this.#store.readOutbox!(id, 1000); batch.length > 0; batch = await this.#store.readOutbox!(id, 1000)) {
      await this.#store.commit(batch.map((e) => ({ type: 'deleteOutbox', connector: id, seq: e.seq })));
    }
  }

  /** Numbers for /metrics, per connector. */
  samples(): { id: string; lagSeconds: number; healthy: boolean }[] {
    const now = this.#now().getTime();
    return [...this.#running.values()].map((r) => ({
      id: r.def.id, healthy: r.worker.stats.state === 'healthy', lagSeconds: r.worker.oldestAt === null ? 0 : Math.max(0, (now - r.worker.oldestAt) / 1000),
    }));
  }

  async #adopt(def: StoredConnector): Promise<void> {
    const seq = (await this.#store.lastOutboxSeq!(def.id)) + 1;
    const worker = new ConnectorWorker(def, {
      store: this.#store, target: targetOf(def), logger: this.#logger, onOutcome: (o) => this.#outcomes(def.id, o),
    });
    this.#running.set(def.id, { def, worker, seq });
    this.#selectors = [...this.#selectors, toSelector(def)];
    if (this.#started) worker.start();
  }
}

/** The connector counters and gauges of /metrics; `service` gives the per-connector samples. */
export function connectorMetrics(metrics: MetricsRegistry, service: Pick<ConnectorService, 'samples'>): (id: string, outcome: 'delivered' | 'failed' | 'dropped') => void {
  const labelNames = ['connector'];
  const counters = {
    delivered: metrics.counter({ name: 'doppel_connector_delivered_total', help: 'Events a connector\'s target acknowledged', labelNames }),
    failed: metrics.counter({ name: 'doppel_connector_failed_total', help: 'Failed delivery attempts (each is retried)', labelNames }),
    dropped: metrics.counter({ name: 'doppel_connector_dropped_total', help: 'Events dropped undelivered, older than the connector\'s maxAgeSeconds', labelNames }),
  };
  metrics.gauge({
    name: 'doppel_connector_lag_seconds', help: 'Seconds since the oldest undelivered event of a connector was written (0 when caught up)', labelNames,
    collect: () => service.samples().map((s) => ({ labels: { connector: s.id }, value: s.lagSeconds })),
  });
  metrics.gauge({
    name: 'doppel_connector_healthy', help: '1 while a connector\'s last delivery attempt succeeded, 0 while it is failing', labelNames,
    collect: () => service.samples().map((s) => ({ labels: { connector: s.id }, value: s.healthy ? 1 : 0 })),
  });
  return (id, outcome) => counters[outcome].inc({ connector: id });
}
