/**
 * Actor lifecycle: activation on first message, an LRU cap on resident actors, and passivation
 * after idling. Only idle actors (empty mailbox, nothing pinning them) are ever passivated, and
 * eviction is synchronous with respect to `ask`, so a message can never reach a passivated actor.
 */
import { DoppelError } from '../src/errors.ts';
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

/** `movedAt`: when the entry last moved to the MRU end (moving costs, so at most once a second). */
interface Entry<A> { actor: A; lastUsed: number; movedAt: number }

/** How many LRU entries one activation inspects when over the cap (bounds the work per message). */
const EVICTION_SCAN = 32;

export class ActorRegistry<A extends Actor> {
  readonly #actors = new Map<string, Entry<A>>();
  readonly #opts: RegistryOptions<A>;
  readonly #now: () => number;
  #inFlight = 0;
  #closed = false;
  #drained: Array<() => void> = [];
  activated = 0;
  passivated = 0;

  constructor(opts: RegistryOptions<A>) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => Date.now());
  }

  get size(): number { return this.#actors.size; }
  /** Messages queued or running across all actors. */
  get pending(): number { return this.#inFlight; }

  /** The resident actor for `id`, if any (never activates). */
  peek(id: string): A | undefined { return this.#actors.get(id)?.actor; }

  /** Runs `fn` inside `id`'s mailbox, activating the actor if needed. */
  ask<T>(id: string, fn: (actor: A) => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new DoppelError('unavailable', 'Shutting down: not accepting requests'));
    const now = this.#now();
    let entry = this.#actors.get(id);
    if (entry === undefined) {
      entry = { actor: this.#opts.create(id), lastUsed: now, movedAt: now };
      this.#actors.set(id, entry);
      this.activated++;
      if (this.#actors.size > this.#opts.maxResident) this.#evict(this.#actors.size - this.#opts.maxResident, id);
    } else if (now - entry.movedAt > 1000) {
      // Re-insert to keep Map order roughly LRU without paying for it on every message.
      this.#actors.delete(id);
      this.#actors.set(id, entry);
      entry.movedAt = now;
    }
    entry.lastUsed = now;
    const { actor } = entry;
    this.#inFlight++;
    return actor.mailbox.post(async () => {
      try {
        return await fn(actor);
      } finally {
        // Checked inside the task: depth 1 means nothing else is queued behind this message.
        if (actor.mailbox.depth === 1 && actor.vacant() && actor.canPassivate() && this.#actors.get(id)?.actor === actor) {
          this.#actors.delete(id);
          this.passivated++;
        }
      }
    }).finally(() => {
      if (--this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
    });
  }

  /** Passivates actors idle for longer than `idleMs`; returns how many. */
  sweep(): number {
    const cutoff = this.#now() - this.#opts.idleMs;
    let n = 0;
    for (const [id, { actor, lastUsed }] of this.#actors) {
      if (lastUsed > cutoff) continue;
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
    for (const [id, entry] of this.#actors) {
      if (excess <= 0 || scanned++ >= EVICTION_SCAN) break;
      if (id === keep) continue;
      this.#actors.delete(id);
      if (entry.actor.mailbox.idle && entry.actor.canPassivate()) {
        this.passivated++;
        excess--;
      } else {
        // Second chance: a busy or pinned actor goes to the MRU end, so later scans reach others
        // instead of stalling on the same pinned heads forever.
        this.#actors.set(id, entry);
      }
    }
  }

  /** Refuses new messages and resolves once every queued one has finished. */
  drain(): Promise<void> {
    this.#closed = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#drained.push(resolve); });
  }

  *residents(): IterableIterator<A> {
    for (const { actor } of this.#actors.values()) yield actor;
  }
}
