/**
 * Wakes each twin with open commands at its soonest `expiresAt`, so a command expires (is stored
 * `expired`, counted, told to apps) when it is due, not only when someone next reads it. One timer
 * per twin; after a restart a twin's timer is set again the first time its commands are read.
 */
import { isEnded } from '../src/twin/commands.ts';
import type { Command } from '../src/twin/commands.ts';

/** setTimeout's largest delay; a later expiry is reached in steps (each wake re-reads and re-arms). */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class ExpiryTimers {
  readonly #onDue: (twin: string) => void;
  readonly #now: () => number;
  readonly #timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  #stopped = false;

  constructor(onDue: (twin: string) => void, now: () => number) {
    this.#onDue = onDue;
    this.#now = now;
  }

  get size(): number { return this.#timers.size; }

  /** Arms twin `twin`'s timer for the soonest expiry among its open `commands` (its full list), or clears it. */
  schedule(twin: string, commands: readonly Command[]): void {
    let soonest = Infinity;
    for (const c of commands) if (!isEnded(c.status) && c.expiresAt !== undefined) soonest = Math.min(soonest, Date.parse(c.expiresAt));
    const current = this.#timers.get(twin);
    if (current !== undefined && current.at === soonest) return;
    if (current !== undefined) clearTimeout(current.timer);
    this.#timers.delete(twin);
    if (soonest === Infinity || this.#stopped) return;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, soonest - this.#now() + 1));
    const timer = setTimeout(() => {
      if (this.#timers.get(twin)?.timer === timer) this.#timers.delete(twin);
      this.#onDue(twin);
    }, delay);
    this.#timers.set(twin, { at: soonest, timer });
  }

  /** Twin `twin` was deleted (its commands with it): its timer goes too, so nothing wakes for it later. */
  clear(twin: string): void {
    const current = this.#timers.get(twin);
    if (current === undefined) return;
    clearTimeout(current.timer);
    this.#timers.delete(twin);
  }

  /** The server is stopping: no timer keeps it alive or fires into a closed store. */
  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
