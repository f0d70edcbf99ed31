/**
 * The commands of resident twins, held in memory so a command step does not re-read and decode a
 * twin's whole command history (ended commands are kept a day). Each twin's copy hangs off its
 * actor activation (`scope`, the resident actor object): it is loaded on the first step of an
 * activation and kept current by the service's own commits, which all run in that actor's
 * mailbox. When the actor passivates, or is dropped because another cluster node owns the twin
 * now (registry `drop`, on a lost lease or a fenced commit), the next step meets a new activation
 * and reloads from the store, so a new owner never serves stale commands. A WeakMap lets the
 * copy go with the actor.
 */
import type { StoreOp } from '../src/store/types.ts';
import { COMMAND_RETENTION_MS, isEnded } from '../src/twin/commands.ts';
import type { Command } from '../src/twin/commands.ts';
import type { TwinState } from '../src/twin/types.ts';

/** A mailbox turn: the twin it runs on and its actor activation (no scope: nothing is cached). */
export interface Turn { twin?: TwinState; scope?: object }

interface Entry {
  /** The twin incarnation the copy belongs to (its `createdAt`): a deleted and re-created twin reloads. */
  generation: string | undefined;
  /** By command id, in creation order (the store's order); commands are frozen, shared with callers. */
  commands: Map<string, Command>;
  /** No held command can expire or be pruned before this (ms): steps skip the scan until then. */
  dueAt: number;
}

export class CommandCache {
  readonly #entries = new WeakMap<object, Entry>();

  /** The twin's stored commands, in creation order: this activation's copy, else `read` once and kept. */
  async read(turn: Turn | undefined, read: () => Promise<Command[]>): Promise<Command[]> {
    if (turn?.scope === undefined) return read();
    const generation = turn.twin?.createdAt;
    const cached = this.get(turn.scope, generation);
    if (cached !== undefined) return cached;
    const stored = await read();
    this.load(turn.scope, generation, stored);
    return stored;
  }

  /** Commits `ops` (and `extra`, records the cache ignores) with `write`, keeping the copy current. */
  async commit(turn: Turn | undefined, ops: StoreOp[], extra: StoreOp[], write: (ops: StoreOp[]) => Promise<void>): Promise<void> {
    try {
      await write([...ops, ...extra]);
    } catch (err) {
      // The batch may or may not be stored (fenced, disk error): the next step reads the store.
      if (turn?.scope !== undefined) this.drop(turn.scope);
      throw err;
    }
    if (turn?.scope !== undefined) this.committed(turn.scope, ops);
  }

  /** Whether the held commands need the expiry and retention scan at `nowMs` (always, when not held). */
  due(turn: Turn | undefined, nowMs: number): boolean {
    const entry = turn?.scope === undefined ? undefined : this.#entries.get(turn.scope);
    return entry === undefined || nowMs >= entry.dueAt;
  }

  /** Recomputes the due time after a scan pruned and expired what was due. */
  settle(turn: Turn | undefined): void {
    const entry = turn?.scope === undefined ? undefined : this.#entries.get(turn.scope);
    if (entry !== undefined) entry.dueAt = soonestDue(entry.commands.values());
  }

  /** The twin's commands held for this activation, in creation order; undefined when not loaded. */
  get(scope: object, generation: string | undefined): Command[] | undefined {
    const entry = this.#entries.get(scope);
    if (entry === undefined || entry.generation !== generation) return undefined;
    return [...entry.commands.values()];
  }

  /** Holds the twin's commands as just read from the store. */
  load(scope: object, generation: string | undefined, stored: Command[]): void {
    this.#entries.set(scope, { generation, commands: new Map(stored.map((c) => [c.id, Object.freeze(c)])), dueAt: -Infinity });
  }

  /** Applies a committed batch's command records (other ops are not the cache's concern). */
  committed(scope: object, ops: readonly StoreOp[]): void {
    const entry = this.#entries.get(scope);
    if (entry === undefined) return;
    for (const op of ops) {
      if (op.type === 'putCommand') {
        entry.commands.set(op.command.id, Object.freeze(op.command));
        entry.dueAt = Math.min(entry.dueAt, dueOf(op.command));
      }
      else if (op.type === 'deleteCommand') entry.commands.delete(op.id);
    }
  }

  /** Forgets the copy (a failed commit: the store may or may not hold the batch). */
  drop(scope: object): void {
    this.#entries.delete(scope);
  }
}

/** When `command` may next change by time alone: its expiry while open, its pruning once ended. */
function dueOf(command: Command): number {
  if (isEnded(command.status)) return Date.parse(command.updatedAt) + COMMAND_RETENTION_MS;
  return command.expiresAt === undefined ? Infinity : Date.parse(command.expiresAt);
}

function soonestDue(commands: Iterable<Command>): number {
  let soonest = Infinity;
  for (const c of commands) soonest = Math.min(soonest, dueOf(c));
  return soonest;
}
