/**
 * The twin service: the message API every protocol edge calls. It validates ids, routes each
 * request to the twin's actor, and serves reads that need no ordering (listing, history) straight
 * from the store, overlaying what only resident actors know (connection state).
 */
import type { Credentials } from '../src/auth/index.ts';
import { assertTwinId, storedConnection } from '../src/twin/index.ts';
import type { ChangeEvent, Connection, DocumentLimits, TwinState, Via } from '../src/twin/types.ts';
import type { TwinStore } from '../src/store/types.ts';
import type { ChangeFeed, Listener } from './change-feed.ts';
import { CommandService } from './command-service.ts';
import { runCommandOp } from './command-routing.ts';
import type { RoutedOp, TwinRouter } from './twin-router.ts';
import { EventBus } from './event-bus.ts';
import { OutOfSyncCount } from './out-of-sync.ts';
import { keepSeenRemotely } from './remote-session.ts';
import { withOwnerConnections } from './owner-connections.ts';
import { ActorRegistry } from './registry.ts';
import { TwinActor } from './twin-actor.ts';
import type { TwinActorDeps, WriteContext } from './twin-actor.ts';

export interface TwinServiceOptions {
  store: TwinStore;
  credentials: Pick<Credentials, 'mintDeviceCredential' | 'forget'>;
  limits: DocumentLimits;
  historyRetention: number;
  livenessMs: number;
  maxResident: number;
  idleMs: number;
  maxPendingPerTwin: number;
  now?: () => Date;
  /** Where actors publish their changes and streams listen; the in-process `EventBus` by default. */
  feed?: ChangeFeed;
  /** A listener of the default feed threw (it is isolated from the others). */
  onListenerError?: (err: unknown) => void;
  /** After each activation that read the store, with the seconds the read, decode and compaction took. */
  onActivation?: (seconds: number) => void;
  /** Outbound connectors' outbox planner (src/connector), joined to every change's commit. */
  outbox?: TwinActorDeps['outbox'];
  /** Cluster mode: runs each twin request on the node owning the twin (src/cluster/router.ts). */
  router?: TwinRouter;
}

export type { RoutedOp, TwinRouter, WriteContext };
export type PatchResult = { state: TwinState; event: ChangeEvent | null };

export class TwinService {
  /** The change feed; edges use the streams (stream.ts, prefix-stream.ts), never the feed itself. */
  readonly feed: ChangeFeed;
  /** Commands to devices, ordered in each twin's mailbox (command-service.ts). */
  readonly commands: CommandService;
  readonly #registry: ActorRegistry<TwinActor>;
  readonly #store: TwinStore;
  readonly #credentials: TwinServiceOptions['credentials'];
  readonly #now: () => Date;
  readonly #livenessMs: number;
  readonly #router: TwinRouter | undefined;
  /** Cluster mode: the owner's connection of each state read from another node (see `get`). */
  readonly #ownerConnection = new WeakMap<TwinState, Connection>();
  readonly #outOfSync = new OutOfSyncCount();

  constructor(opts: TwinServiceOptions) {
    this.#store = opts.store;
    this.#credentials = opts.credentials;
    this.#now = opts.now ?? (() => new Date());
    this.#livenessMs = opts.livenessMs;
    this.#router = opts.router;
    this.feed = opts.feed ?? new EventBus(opts.onListenerError);
    const deps = {
      store: opts.store, feed: this.feed, limits: opts.limits, historyRetention: opts.historyRetention,
      livenessMs: opts.livenessMs, maxPending: opts.maxPendingPerTwin, now: this.#now,
      nowMs: opts.now === undefined ? () => Date.now() : () => this.#now().getTime(),
      onPendingChange: (change: number) => this.#outOfSync.add(change),
      onLoad: opts.onActivation,
      outbox: opts.outbox,
    };
    this.#registry = new ActorRegistry<TwinActor>({
      create: (id) => new TwinActor(id, deps),
      maxResident: opts.maxResident,
      idleMs: opts.idleMs,
      // Read on every message and resident read: no Date object unless a test clock is injected.
      now: opts.now === undefined ? Date.now : () => this.#now().getTime(),
    });
    this.commands = new CommandService({
      store: opts.store, now: this.#now,
      // The actor is the cache scope: a twin's commands stay in memory while its actor is resident,
      // and go with it on passivation or a drop (another node owns the twin now).
      serialize: (id, fn) => this.#ask(id, async (a) => fn(await a.get(), a)),
      ...(this.#router === undefined ? {} : { route: (op, id, args, local) => this.#routed(op, id, args, local) }),
      ...(this.#router?.relay === undefined ? {} : { relay: this.#router.relay }),
      ...(opts.outbox === undefined ? {} : { outbox: opts.outbox }),
    });
  }

  #ask<T>(id: string, fn: (actor: TwinActor) => T | Promise<T>): Promise<T> {
    try {
      assertTwinId(id);
    } catch (err) {
      return Promise.reject(err);
    }
    const asked = this.#registry.ask(id, fn);
    // Only the JetStream store fences, and only cluster mode has it: a single node skips the check.
    if (this.#router === undefined) return asked;
    return asked.catch((err: unknown) => {
      // Another node wrote the twin (it owns it now): this copy is stale, the next request reloads.
      if ((err as { details?: { reason?: unknown } } | null)?.details?.reason === 'fenced') this.#registry.drop(id);
      throw err;
    });
  }

  /** Runs a request where the twin lives: here, or (cluster mode) on the node owning it. */
  #routed<T>(op: RoutedOp, id: string, args: unknown[], local: () => Promise<T>): Promise<T> {
    return this.#router === undefined ? local() : this.#router.route(op, id, args, local);
  }

  /** Runs a request forwarded by another cluster node (its router checked that this node owns the twin). */
  invoke(op: RoutedOp, args: unknown[]): Promise<unknown> {
    const [id, a, b] = args as [string, never, never];
    switch (op) {
      case 'create': return this.create(id, a, b);
      case 'get': return this.get(id);
      case 'read': return this.#read(id);
      case 'touch': return this.touch(id, a);
      case 'patch': return this.patch(id, a, b);
      case 'remove': return this.remove(id, a);
      case 'issueDeviceToken': return this.issueDeviceToken(id);
      default: return runCommandOp(this.commands, op, args);
    }
  }

  /** Drops the resident actors of twins this node no longer owns (cluster mode, a lost lease). */
  dropWhere(disowned: (id: string) => boolean): number {
    const ids = [...this.#registry.residents()].map((a) => a.id).filter(disowned);
    for (const id of ids) this.#registry.drop(id);
    return ids.length;
  }

  create(id: string, init: { desired?: unknown; tags?: unknown }, ctx: WriteContext): Promise<{ state: TwinState; event: ChangeEvent }> {
    return this.#routed('create', id, [id, init, ctx], () => this.#ask(id, (a) => a.create(init, ctx)));
  }

  get(id: string): Promise<TwinState> {
    if (this.#router === undefined || this.#router.owns(id)) return this.#ask(id, (a) => a.get());
    // Owned elsewhere: only the owner knows the device's sessions and latest contact, so the state
    // comes back with the owner's connection, which `connection(state)` then answers.
    return this.#router.route('read', id, [id], () => this.#read(id)).then(({ state, connection }) => {
      this.#ownerConnection.set(state, connection);
      return state;
    });
  }

  /**
   * The twin's committed state when its actor is resident here (single node, or this node owns
   * it), without a trip through its mailbox; undefined otherwise (then `get`). The hot read path.
   */
  resident(id: string): TwinState | undefined {
    if (this.#router !== undefined && !this.#router.owns(id)) return undefined;
    return this.#registry.use(id)?.committed();
  }

  async #read(id: string): Promise<{ state: TwinState; connection: Connection }> {
    const state = await this.#ask(id, (a) => a.get());
    return { state, connection: this.connection(state) };
  }

  /** A read by the device itself: also marks it seen. */
  touch(id: string, via: Via): Promise<TwinState> {
    // The hot paths (device reads and reports) build no routing arguments on a single node.
    if (this.#router === undefined) return this.#ask(id, (a) => a.touch(via));
    return this.#routed('touch', id, [id, via], () => this.#ask(id, (a) => a.touch(via)));
  }

  patch(id: string, patch: { desired?: unknown; reported?: unknown; tags?: unknown }, ctx: WriteContext): Promise<PatchResult> {
    if (this.#router === undefined) return this.#ask(id, (a) => a.patch(patch, ctx));
    return this.#routed('patch', id, [id, patch, ctx], () => this.#ask(id, (a) => a.patch(patch, ctx)));
  }

  /** Deletes the twin (if it is still at `ifVersion`, when given), its history and device token. */
  remove(id: string, ifVersion?: number): Promise<void> {
    return this.#routed('remove', id, [id, ifVersion], async () => {
      // The deleted twin's commands are gone from the store; a pinned actor must not keep them.
      const tokenId = await this.#ask(id, async (a) => {
        try {
          const token = await a.remove(ifVersion);
          this.commands.removed(id);
          return token;
        } finally { this.commands.forget(a); }
      });
      if (tokenId !== null) this.#credentials.forget(tokenId);
    });
  }

  /** Issues (or rotates) the twin's device token; the old one stops working at once. */
  issueDeviceToken(id: string): Promise<string> {
    return this.#routed('issueDeviceToken', id, [id], async () => {
      const { credential, token } = await this.#credentials.mintDeviceCredential(id, this.#now().toISOString());
      const old = await this.#ask(id, (a) => a.setDeviceCredential(credential));
      if (old !== null) this.#credentials.forget(old);
      return token;
    });
  }

  /**
   * Registers `listener` for the twin's notices at a consistent cut inside its actor: it receives
   * exactly the changes after the returned state. The primitive under `openTwinStream`.
   */
  subscribe(id: string, listener: Listener): Promise<{ state: TwinState; unsubscribe: () => void }> {
    if (this.#router === undefined || this.#router.owns(id)) return this.#ask(id, (a) => a.subscribe(listener));
    return this.#subscribeRemote(id, listener);
  }

  /**
   * The cut for a twin owned by another node: listen on this node's feed first, then read the
   * state from the owner. Every change after that state reaches the feed later; one the state
   * already holds may arrive too, and streams drop versions they already have.
   */
  async #subscribeRemote(id: string, listener: Listener): Promise<{ state: TwinState; unsubscribe: () => void }> {
    const unsubscribe = this.feed.subscribe(id, listener);
    try {
      return { state: await this.get(id), unsubscribe };
    } catch (err) {
      unsubscribe();
      throw err;
    }
  }

  /**
   * Marks a device session open on `id` (kept online and resident); returns the detach function.
   * Streams take it as their `attach` option.
   */
  attachDevice(id: string, via: Via): Promise<() => void> {
    if (this.#router === undefined || this.#router.owns(id)) return this.#ask(id, async (a) => { await a.get(); return a.attachDevice(via); });
    return this.touch(id, via).then(() => keepSeenRemotely(() => this.touch(id, via), this.#livenessMs));
  }

  connection(state: TwinState): Connection {
    const fromOwner = this.#ownerConnection.get(state);
    if (fromOwner !== undefined) return fromOwner;
    const actor = this.#registry.peek(state.id);
    return actor !== undefined ? actor.connection() : storedConnection(state, this.#now().getTime(), this.#livenessMs);
  }

  /** Twins in id order from the store; in cluster mode with their owners' connections unless `connections: false`. */
  list(opts: { prefix?: string; after?: string; limit?: number; connections?: false }): AsyncIterable<TwinState> {
    const ask = this.#router?.connectionsOf?.bind(this.#router);
    if (ask === undefined || opts.connections === false) return this.#store.listTwins(opts);
    return withOwnerConnections(this.#store.listTwins(opts), ask, (state, c) => this.#ownerConnection.set(state, c));
  }

  /** The connections of the twins among `ids` resident here (for other cluster nodes' listings). */
  residentConnections(ids: readonly string[]): Array<[string, Connection]> {
    return ids.flatMap((id) => { const a = this.#registry.peek(id); return a === undefined ? [] : [[id, a.connection()] as [string, Connection]]; });
  }

  /**
   * Change events after `since`, oldest first, at most `limit`; `more` tells whether later events
   * exist (read as one extra event, so a write landing meanwhile is never missed). `not_found` for
   * a missing twin.
   */
  async history(id: string, since: number, limit: number): Promise<{ events: ChangeEvent[]; more: boolean }> {
    await this.get(id);
    const events = await this.#store.readHistory(id, { after: since, limit: limit + 1 });
    const more = events.length > limit;
    if (more) events.length = limit;
    return { events, more };
  }

  /** Passivates idle actors (called periodically by the server). */
  sweep(): number { return this.#registry.sweep(); }

  /** Whether twin `id`'s actor is in memory on this node (never activates it). */
  isResident(id: string): boolean { return this.#registry.peek(id) !== undefined; }

  /** Passivates twin `id`'s actor if it is idle and unpinned (a visitor that activated it is done). */
  release(id: string): void { this.#registry.release(id); }

  get stats(): { resident: number; activated: number; passivated: number; pending: number } {
    const r = this.#registry;
    return { resident: r.size, activated: r.activated, passivated: r.passivated, pending: r.pending };
  }

  /**
   * Counts the twins out of sync once, from the pending index (call at startup, before traffic:
   * changes committed while it counts are added afterwards). Later commits keep the count current.
   */
  countOutOfSync(): Promise<number> { return this.#outOfSync.count(this.#store); }

  /** Twins whose device has not converged; null until `countOutOfSync` has run. */
  get outOfSync(): number | null { return this.#outOfSync.value; }

  /** When the twin out of sync the longest became so, if any twin is. */
  async oldestPendingSince(): Promise<string | undefined> { return (await this.#store.oldestPending())?.since; }

  /** Stops taking requests and waits for queued ones to finish (SIGTERM drain). */
  drain(): Promise<void> {
    this.commands.stop();
    return this.#registry.drain();
  }
}
