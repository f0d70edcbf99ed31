/**
 * Which twins may hold open commands, so a device's hot path (the 2.04 of a CoAP report) reads a
 * twin's commands only when there may be some. Loaded once from the store (a key-only scan of the
 * command records); what this process learns meanwhile is laid over the scan, so a command
 * committed during the load is not missed. May over-approximate (a command that expired unread):
 * the read that follows corrects it. Once loaded it answers synchronously (`knownNone`), so the
 * 2.04 of a report from a twin without commands (nearly all of them) waits for nothing.
 */
import { isEnded } from '../src/twin/commands.ts';
import type { Command } from '../src/twin/commands.ts';

export class OpenCommandIndex {
  readonly #load: () => Promise<string[]>;
  #twins: Set<string> | null = null;
  #loading: Promise<Set<string>> | null = null;
  readonly #learned = new Map<string, boolean>();

  /** `load`: the ids of every twin with command records (any status). */
  constructor(load: () => Promise<string[]>) {
    this.#load = load;
  }

  async mayHaveOpen(id: string): Promise<boolean> {
    return (this.#twins ?? await this.#loaded()).has(id);
  }

  /** True only when the index is loaded and twin `id` surely has no open command; never waits. */
  knownNone(id: string): boolean {
    return this.#twins !== null && !this.#twins.has(id);
  }

  /** Starts the load now (at server start) rather than on the first question; a failed load is retried then. */
  preload(): void {
    try {
      this.#loaded().catch(() => undefined);
    } catch {
      // A load that throws at once is retried by the first question, like one that rejects.
    }
  }

  /** Records whether twin `id` has open commands, from its full current list. */
  track(id: string, commands: readonly Command[]): void {
    const open = commands.some((c) => !isEnded(c.status));
    if (this.#twins === null) this.#learned.set(id, open);
    else if (open) this.#twins.add(id);
    else this.#twins.delete(id);
  }

  #loaded(): Promise<Set<string>> {
    this.#loading ??= this.#load().then((twins) => {
      const set = new Set(twins);
      for (const [id, open] of this.#learned) if (open) set.add(id); else set.delete(id);
      this.#learned.clear();
      this.#twins = set;
      return set;
    }, (err: unknown) => { this.#loading = null; throw err; });
    return this.#loading;
  }
}
