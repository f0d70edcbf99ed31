/**
 * The twin actor: owns one twin's state and orders its messages. Each handler runs inside the
 * mailbox, asks pure code (src/twin: `planCreate`, `planPatch`, `planRemoval`, …) what the change is
 * and which store ops it takes, commits them in one atomic batch, and only then adopts the new
 * state and publishes the event. A failed commit therefore leaves the twin exactly as it was.
 */
import { DoppelError } from '../src/errors.ts';
import type { StoreOp, StoredCredential, TwinStore } from '../src/store/types.ts';
import { pendingCountChange } from '../src/store/index.ts';
import {
  changeOps, compactTwin, connectionOf, planCreate, planDeviceCredential, planPatch, planRemoval, storedContact, withClearedSections,
} from '../src/twin/index.ts';
import type { ChangeContext, DeviceContact } from '../src/twin/index.ts';
import type { ChangeEvent, Connection, DocumentLimits, TwinState, Via } from '../src/twin/types.ts';
import type { OutboxPlanner } from '../src/connector/service.ts';
import type { Actor } from './registry.ts';
import { Mailbox } from './mailbox.ts';
import type { ChangeFeed, Listener } from './change-feed.ts';

/** No extra ops: shared, so a plain change allocates nothing for them. */
const NO_OPS: readonly StoreOp[] = Object.freeze([]);

export interface TwinActorDeps {
  store: TwinStore;
  feed: ChangeFeed;
  limits: DocumentLimits;
  historyRetention: number;
  livenessMs: number;
  maxPending: number;
  now: () => Date;
  /** The same clock in epoch ms (no Date object on the write path); read through `now` when absent. */
  nowMs?: () => number;
  /** After a commit that changed how many twins are out of sync (+1 or −1). */
  onPendingChange?: (change: number) => void;
  /** After each load of the twin from the store (its activation), with the seconds it took. */
  onLoad?: (seconds: number) => void;
  /** Outbound connectors: their outbox entries join the change's own commit (src/connector). */
  outbox?: OutboxPlanner;
}

/** Options of a write, from the edge that received it. */
export interface WriteContext {
  via: Via;
  clientToken?: string;
  ifVersion?: number;
  /** The write comes from the device itself (marks it seen). */
  deviceContact?: boolean;
  /**
   * More ops committed in the same atomic batch as the change, or alone when the patch changes
   * nothing (a fleet job's done-mark: the change and the mark land together or not at all).
   */
  alsoCommit?: StoreOp[];
}

/**
 * The ISO time of the last change, kept for its millisecond: a busy node plans several changes
 * per millisecond, and each would otherwise pay for a Date and its toISOString.
 */
let isoMs = Number.NaN;
let isoText = '';
function isoAt(ms: number): string {
  if (ms !== isoMs) { isoText = new Date(ms).toISOString(); isoMs = ms; }
  return isoText;
}

export class TwinActor implements Actor {
  readonly id: string;
  readonly mailbox: Mailbox;
  readonly #deps: TwinActorDeps;
  /** undefined until loaded; null when the twin does not exist. */
  #state: TwinState | null | undefined;
  #lastSeen: DeviceContact | null = null;
  #attached = 0;

  constructor(id: string, deps: TwinActorDeps) {
    this.id = id;
    this.#deps = deps;
    this.mailbox = new Mailbox(deps.maxPending);
  }

  canPassivate(): boolean { return this.#attached === 0; }
  vacant(): boolean { return this.#state === null; }

  async #load(): Promise<TwinState | null> {
    if (this.#state === undefined) {
      const started = performance.now();
      const stored = await this.#deps.store.getTwin(this.id);
      // Compacted: the state stays in memory as long as the actor does, for ~60% less heap.
      this.#state = stored === undefined ? null : compactTwin(stored, this.id);
      if (stored !== undefined) this.#lastSeen = storedContact(stored);
      this.#deps.onLoad?.((performance.now() - started) / 1000);
    }
    return this.#state;
  }

  async #existing(): Promise<TwinState> {
    const state = await this.#load();
    if (state === null) throw new DoppelError('not_found', `No twin "${this.id}"`);
    return state;
  }

  #nowMs(): number { return this.#deps.nowMs?.() ?? this.#deps.now().getTime(); }

  #context(ctx: WriteContext, ms: number): ChangeContext {
    const out: ChangeContext = { now: isoAt(ms), via: ctx.via, limits: this.#deps.limits };
    if (ctx.clientToken !== undefined) out.clientToken = ctx.clientToken;
    if (ctx.deviceContact === true) out.deviceContact = true;
    return out;
  }

  /**
   * Commits a change, then adopts and publishes it, and resolves to it. Not async itself: the
   * store's promise is the only one waited on, so a write costs one turn of the microtask queue
   * here, not one per level.
   */
  #apply<C extends { state: TwinState; event: ChangeEvent }>(change: C, also: readonly StoreOp[] = NO_OPS): Promise<C> {
    const ops = changeOps(this.#state ?? null, change, this.#deps.historyRetention);
    // Connectors' outbox entries join the change's own commit: delivered if and only if it lands.
    const outbox = this.#deps.outbox?.changeOps(change.state, change.event);
    const hasOutbox = outbox !== undefined && outbox.length > 0;
    const all = also.length === 0 && !hasOutbox ? ops : [...ops, ...also, ...(hasOutbox ? outbox : NO_OPS)];
    return this.#deps.store.commit(all).then(() => {
      this.#committed(all);
      if (hasOutbox) this.#deps.outbox!.committed(outbox);
      this.#state = change.state;
      this.#deps.feed.publish({ type: 'change', event: change.event, state: change.state });
      return change;
    });
  }

  async #commit(ops: StoreOp[]): Promise<void> {
    await this.#deps.store.commit(ops);
    this.#committed(ops);
  }

  /** After `ops` are committed: the out-of-sync count follows the pending index. */
  #committed(ops: readonly StoreOp[]): void {
    const change = pendingCountChange(ops);
    if (change !== 0) this.#deps.onPendingChange?.(change);
  }

  async get(): Promise<TwinState> { return this.#existing(); }

  /**
   * The last committed state when it is loaded, read outside the mailbox. A state is adopted only
   * after its commit, and a write is acknowledged only after that, so this read is linearizable:
   * it sees every acknowledged write (a write still committing is concurrent with it).
   */
  committed(): TwinState | undefined { return this.#state ?? undefined; }

  async create(init: { desired?: unknown; tags?: unknown }, ctx: WriteContext): Promise<{ state: TwinState; event: ChangeEvent }> {
    if ((await this.#load()) !== null) throw new DoppelError('already_exists', `Twin "${this.id}" already exists`);
    const plan = planCreate(this.id, init, this.#context(ctx, this.#nowMs()));
    await this.#apply(plan);
    return plan;
  }

  /**
   * Not async: a resident twin's patch returns the commit's own promise (see `#apply`), and a
   * refused one a rejected promise, so the write path adds no promise and no turn here.
   */
  patch(patch: { desired?: unknown; reported?: unknown; tags?: unknown }, ctx: WriteContext): Promise<{ state: TwinState; event: ChangeEvent | null }> {
    const state = this.#state;
    // Not loaded yet, or missing (then `#existing` rejects with not_found).
    if (state === undefined || state === null) return this.#existing().then((loaded) => this.#patch(loaded, patch, ctx));
    try {
      return this.#patch(state, patch, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #patch(state: TwinState, patch: { desired?: unknown; reported?: unknown; tags?: unknown }, ctx: WriteContext): Promise<{ state: TwinState; event: ChangeEvent | null }> {
    const ms = this.#nowMs();
    const c = this.#context(ctx, ms);
    patch = withClearedSections(patch, state);
    const plan = planPatch(state, patch, ctx.ifVersion === undefined ? c : { ...c, ifVersion: ctx.ifVersion });
    if (ctx.deviceContact === true) this.#lastSeen = { at: ms, via: ctx.via };
    if (plan === null) {
      const unchanged = { state, event: null };
      if (ctx.alsoCommit === undefined || ctx.alsoCommit.length === 0) return Promise.resolve(unchanged);
      return this.#commit(ctx.alsoCommit).then(() => unchanged);
    }
    return this.#apply(plan, ctx.alsoCommit);
  }

  async remove(ifVersion?: number): Promise<string | null> {
    const state = await this.#existing();
    const plan = planRemoval(state, ifVersion);
    const deletion = await this.#deps.store.deleteTwinOps(this.id);
    // Asked for right before the commit, with no await between: outbox seqs land in order.
    const outbox = this.#deps.outbox?.deletedOps(state, this.#deps.now().toISOString()) ?? [];
    await this.#commit([...deletion, ...plan.ops, ...outbox]);
    if (outbox.length > 0) this.#deps.outbox!.committed(outbox);
    this.#state = null;
    this.#lastSeen = null;
    this.#deps.feed.publish({ type: 'deleted', twin: this.id });
    return plan.revokedTokenId;
  }

  /** Stores `credential` as the twin's device token, revoking the previous one in the same batch. */
  async setDeviceCredential(credential: StoredCredential): Promise<string | null> {
    const plan = planDeviceCredential(await this.#existing(), credential);
    await this.#deps.store.commit(plan.ops);
    this.#state = plan.state;
    return plan.revokedTokenId;
  }

  /** A device read: returns the twin and marks the device seen. */
  async touch(via: Via): Promise<TwinState> {
    const state = await this.#existing();
    this.#seen(via);
    return state;
  }

  /** Registers `listener` at a consistent cut: it receives exactly the changes after the returned state. */
  async subscribe(listener: Listener): Promise<{ state: TwinState; unsubscribe: () => void }> {
    const state = await this.#existing();
    return { state, unsubscribe: this.#deps.feed.subscribe(this.id, listener) };
  }

  /** A device holds a live session (Observe, WebSocket): online, and kept resident, until detached. */
  attachDevice(via: Via): () => void {
    this.#attached++;
    this.#seen(via);
    let done = false;
    return () => { if (!done) { done = true; this.#attached--; this.#seen(via); } };
  }

  #seen(via: Via): void { this.#lastSeen = { at: this.#nowMs(), via }; }

  connection(): Connection {
    return connectionOf(this.#lastSeen, this.#attached, this.#nowMs(), this.#deps.livenessMs);
  }
}
