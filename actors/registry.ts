/**
 * Actor lifecycle: activation on first message, an LRU cap on resident actors, and passivation
 * after idling. Only idle actors (empty mailbox, nothing pinning them) are ever passivated, and
 * eviction is synchronous with respect to `ask`, so a message can never reach a passivated actor.
 */
import { DoppelError } from '../src/errors.ts';
import { overloaded } from './mailbox.ts';
import type { Mailbox } from './mailbox.ts';

export interface Actor {
  readonly mailbox: Mailbox;
  /** False while something outside (an observer, a device session) needs it resident. */
  canPassivate(): boolean;
  /** True when the actor holds nothing worth keeping (e.g. a lookup of a missing twin). */
  vacant(): boolean;
}

export interface RegistryOptions<A extends Actor> {
  create(id: string): A;
  maxResident: number;
  idleMs: number;
  now?: () => number;
}

/** How many LRU entries one activation inspects when over the cap (bounds the work per message). */
const EVICTION_SCAN = 32;
/**
 * Clock readings are kept relative to an epoch, in ms, so they stay small integers (V8 stores
 * those unboxed; a full timestamp would cost each resident actor two 16-byte heap numbers). When
 * the clock gets this far (~12 days) from the epoch, the epoch moves forward with every reading.
 */
const REBASE_AT = 2 ** 30;

export class ActorRegistry<A extends Actor> {
  /** In approximate LRU order; each actor's times are on its mailbox (`lastUsed`, `movedAt`). */
  readonly #actors = new Map<string, A>();
  readonly #opts: RegistryOptions<A>;
  readonly #now: () => number;
  #epoch: number;
  #inFlight = 0;
  #closed = false;
  #drained: Array<() => void> = [];
  activated = 0;
  passivated = 0;

  constructor(opts: RegistryOptions<A>) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now());
    this.#epoch = this.#now();
  }

  get size(): number { return this.#actors.size; }
  /** Messages queued or running across all actors. */
  get pending(): number { return this.#inFlight; }

  /** The resident actor for `id`, if any (never activates). */
  peek(id: string): A | undefined { return this.#actors.get(id); }

  /**
   * The resident actor for `id`, if any, counted as used (it stays resident like one that got a
   * message) without posting to its mailbox: for reads served from committed state. Never activates.
   */
  use(id: string): A | undefined {
    const actor = this.#actors.get(id);
    if (actor !== undefined && !this.#closed) this.#touch(id, actor, this.#clock());
    return this.#closed ? undefined : actor;
  }

  #touch(id: string, actor: A, now: number): void {
    if (now - actor.mailbox.movedAt > 1000) {
      // Re-insert to keep Map order roughly LRU without paying for it on every message.
      this.#actors.delete(id);
      this.#actors.set(id, actor);
      actor.mailbox.movedAt = now;
    }
    actor.mailbox.lastUsed = now;
  }

  /** Runs `fn` inside `id`'s mailbox, activating the actor if needed. */
  ask<T>(id: string, fn: (actor: A) => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new DoppelError('unavailable', 'Shutting down: not accepting requests'));
    const now = this.#clock();
    let actor = this.#actors.get(id);
    if (actor === undefined) {
      actor = this.#opts.create(id);
      actor.mailbox.movedAt = now;
      this.#actors.set(id, actor);
      this.activated++;
      if (this.#actors.size > this.#opts.maxResident) this.#evict(this.#actors.size - this.#opts.maxResident, id);
    }
    this.#touch(id, actor, now);
    const resident = actor;
    if (resident.mailbox.full) return Promise.reject(overloaded());
    this.#inFlight++;
    // The task's own promise comes back: no wrapper promise, no extra turn (see mailbox.ts).
    return resident.mailbox.post(() => fn(resident), () => this.#settled(id, resident));
  }

  /** After each message to `resident`, before its caller hears and before its next message starts. */
  #settled(id: string, resident: A): void {
    // Depth 1 means nothing else is queued behind this message.
    if (resident.mailbox.depth === 1 && resident.vacant() && resident.canPassivate() && this.#actors.get(id) === resident) {
      this.#actors.delete(id);
      this.passivated++;
    }
    if (--this.#inFlight === 0 && this.#drained.length > 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /**
   * Drops `id`'s actor now, busy or not (cluster mode: another node owns the twin, so this copy is
   * stale); the next message activates a fresh one. Messages already queued still run on the old one.
   */
  drop(id: string): void {
    if (this.#actors.delete(id)) this.passivated++;
  }

  /**
   * Passivates `id`'s actor now if it is idle and nothing pins it: for a one-off visitor (a fleet
   * job) that activated it, so walking 100,000 twins does not leave them all resident.
   */
  release(id: string): void {
    const actor = this.#actors.get(id);
    if (actor !== undefined && actor.mailbox.idle && actor.canPassivate()) {
      this.#actors.delete(id);
      this.passivated++;
    }
  }

  /** Passivates actors idle for longer than `idleMs`; returns how many. */
  sweep(): number {
    const cutoff = this.#clock() - this.#opts.idleMs;
    let n = 0;
    for (const [id, actor] of this.#actors) {
      if (actor.mailbox.lastUsed > cutoff) continue;
      if (actor.mailbox.idle && actor.canPassivate()) {
        this.#actors.delete(id);
        n++;
      }
    }
    this.passivated += n;
    return n;
  }

  /** Evicts up to `excess` idle actors from the LRU end, never `keep` (the one being activated). */
  #evict(excess: number, keep: string): void {
    let scanned = 0;
    for (const [id, actor] of this.#actors) {
      if (excess <= 0 || scanned++ >= EVICTION_SCAN) break;
      if (id === keep) continue;
      this.#actors.delete(id);
      if (actor.mailbox.idle && actor.canPassivate()) {
        this.passivated++;
        excess--;
      } else {
        // Second chance: a busy or pinned actor goes to the MRU end, so later scans reach others
        // instead of stalling on the same pinned heads forever.
        this.#actors.set(id, actor);
      }
    }
  }

  /** The registry's clock, relative to `#epoch` (moved forward, and every reading with it, when it grows large). */
  #clock(): number {
    const t = this.#now() - this.#epoch;
    // `| 0`: an integer V8 keeps unboxed (a difference of two doubles would be a heap number).
    if (t < REBASE_AT && t > -REBASE_AT) return t | 0;
    const shift = t - REBASE_AT / 2;
    this.#epoch += shift;
    for (const { mailbox } of this.#actors.values()) {
      mailbox.lastUsed = rebased(mailbox.lastUsed, shift);
      mailbox.movedAt = rebased(mailbox.movedAt, shift);
    }
    return (t - shift) | 0;
  }

  /** Refuses new messages and resolves once every queued one has finished. */
  drain(): Promise<void> {
    this.#closed = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#drained.push(resolve); });
  }

  *residents(): IterableIterator<A> {
    yield* this.#actors.values();
  }
}

/**
 * A reading moved to a new epoch, kept within ±REBASE_AT: an actor idle for more than ~18 days
 * then looks idle for 18 to 25 days, which only matters to an idle timeout longer than that.
 */
function rebased(t: number, shift: number): number {
  return Math.min(Math.max(t - shift, -REBASE_AT), REBASE_AT) | 0;
}
