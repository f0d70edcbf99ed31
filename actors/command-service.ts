/**
 * Commands to devices: the ordered, durable side. Every step runs inside the twin's actor mailbox
 * (through `serialize`, which also checks the twin exists), applies a pure rule from
 * src/twin/commands.ts and commits the changed records before anyone hears of them, so an
 * acknowledged command survives a crash. A twin's commands are read from the store once per
 * activation of its actor, then kept in memory (command-cache.ts). Expiry is applied whenever
 * they are read, and a timer per twin (command-expiry.ts) reads them at the soonest `expiresAt`;
 * ended commands older than the retention are pruned in the same commits. In-memory listeners (long polls,
 * device sessions, app streams) hear of every status change after its commit. In cluster mode
 * every step runs on the twin's owner (`route`) and `relay` reaches sessions and listeners on
 * the other nodes (command-routing.ts).
 */
import { DoppelError, fail } from '../src/errors.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import type { TwinState } from '../src/twin/types.ts';
import type { OutboxPlanner } from '../src/connector/service.ts';
import {
  answerCommand, cancelCommand, deliverCommand, expireIfDue, findCommand, isEnded, isPrunable, newCommandId, newestFirst, orderOf, planCommand, timeOutCommand,
} from '../src/twin/commands.ts';
import type { Command, CommandOrder, CommandOutcome, CommandStatus, NewCommand } from '../src/twin/commands.ts';
import { CommandCache } from './command-cache.ts';
import type { Turn } from './command-cache.ts';
import { CommandListeners } from './command-listeners.ts';
import { ExpiryTimers } from './command-expiry.ts';
import { waitForEnd } from './command-wait.ts';
import { OpenCommandIndex } from './command-open-index.ts';
import type { CommandOp, CommandRelay, CommandRoute, DeviceSink } from './command-routing.ts';

/**
 * Runs `fn` in twin `id`'s mailbox once the twin is known to exist (else `not_found`), with the twin when
 * known and the actor running it (`scope`: the command cache lives as long; without one, steps read the store).
 */
export type Serialize = <T>(id: string, fn: (twin?: TwinState, scope?: object) => Promise<T>) => Promise<T>;

export interface CommandServiceDeps {
  store: TwinStore;
  serialize: Serialize;
  /** Cluster mode: routes each step to the twin's owner, so first-answer-wins and expiry happen in one place. */
  route?: CommandRoute;
  relay?: CommandRelay;
  now: () => Date;
  /** Open (queued or delivered) commands a twin may have at once. */
  maxOpenPerTwin?: number;
  /** Outbound connectors: each status change's outbox entries join its commit (src/connector). */
  outbox?: OutboxPlanner;
}

export const DEFAULT_MAX_OPEN_PER_TWIN = 100;

export class CommandService {
  readonly #deps: CommandServiceDeps;
  readonly #heard = new CommandListeners();
  readonly #openIndex: OpenCommandIndex;
  readonly #expiry: ExpiryTimers;
  /** Long polls and direct invocations waiting for a command to end (a gauge). */
  #waiting = 0;
  /** Each mailbox turn in progress: its twin (for connector filters) and actor (a mailbox runs one turn at a time). */
  readonly #turns = new Map<string, Turn>();
  readonly #cache = new CommandCache();

  constructor(deps: CommandServiceDeps) {
    const outer = deps.serialize;
    const serialize: Serialize = (id, fn) => outer(id, (twin, scope) => {
      // A dropped actor's queued turns may overlap its successor's: each turn clears only its own entry.
      const turn = { twin, scope };
      this.#turns.set(id, turn);
      return fn(twin, scope).finally(() => { if (this.#turns.get(id) === turn) this.#turns.delete(id); });
    });
    this.#deps = { ...deps, serialize };
    this.#openIndex = new OpenCommandIndex(() => deps.store.commandTwins?.() ?? Promise.resolve([]));
    // Ready before the first report, whose 2.04 then needs no store read to know it carries none.
    if (this.available) this.#openIndex.preload();
    // Reading a twin's commands expires the due ones and re-arms its timer.
    this.#expiry = new ExpiryTimers((id) => { void this.list(id).catch(() => undefined); }, () => deps.now().getTime());
    deps.relay?.onChange((command) => {
      // Should this node own the twin later, its open index must not miss this command.
      if (!isEnded(command.status)) this.#openIndex.track(command.twin, [command]);
      this.#heard.tell(command.twin, command);
    });
  }

  #route<T>(op: CommandOp, id: string, args: unknown[], local: () => Promise<T>): Promise<T> { return this.#deps.route?.(op, id, args, local) ?? local(); }

  /** Stops the expiry timers (server shutdown). */
  stop(): void { this.#expiry.stop(); }

  get waiting(): number { return this.#waiting; }

  /** Hears every status change of twin `id`'s commands (after its commit); returns the remover. */
  listen(id: string, listener: (command: Command) => void): () => void { return this.#heard.listen(id, listener); }

  /** Hears every status change of the commands of twins whose id starts with `prefix` (app sessions following a prefix). */
  listenPrefix(prefix: string, listener: (command: Command) => void): () => void { return this.#heard.listenPrefix(prefix, listener); }

  /** Hears every status change of every twin's commands (metrics). */
  listenAll(listener: (command: Command) => void): () => void { return this.#heard.listenPrefix('', listener); }

  /** How many listeners on this node a change of twin `id`'s commands reaches. */
  audience(id: string): number { return this.#heard.audience(id); }

  /** A live device session of twin `id`: sent each command as it is added. Returns the detacher. */
  attachSink(id: string, sink: DeviceSink): () => void {
    const detach = this.#heard.attachSink(id, sink);
    const absent = this.#deps.relay?.present(id, sink);
    return () => { detach(); absent?.(); };
  }

  /** Forgets the commands held for an actor activation (its twin was deleted). */
  forget(scope: object): void { this.#cache.drop(scope); }

  /** Twin `id` was deleted with its commands (committed): no expiry timer or open mark outlives it. */
  removed(id: string): void {
    this.#expiry.clear(id);
    this.#openIndex.track(id, []);
  }

  /** The store keeps commands (LevelDB, memory and JetStream stores). */
  get available(): boolean { return this.#deps.store.readCommands !== undefined; }

  /** A live device session here, or (cluster mode) on another node. */
  async hasLiveSession(id: string): Promise<boolean> {
    if (this.#heard.hasSink(id)) return true;
    return (await this.#deps.relay?.elsewhere(id)) ?? false;
  }

  /**
   * Stores a new command (`queued`); with a `clientToken` already used on this twin, returns that
   * command instead (`created: false`): a retried invocation is not run twice.
   */
  invoke(id: string, init: NewCommand, expiresInMs?: number): Promise<{ command: Command; created: boolean }> {
    return this.#route('command.invoke', id, [id, init, expiresInMs], () => this.#deps.serialize(id, async () => {
      const now = this.#deps.now();
      const commands = await this.#read(id, now);
      if (init.clientToken !== undefined) {
        const same = commands.find((c) => c.clientToken === init.clientToken);
        if (same !== undefined) return { command: same, created: false };
      }
      const max = this.#deps.maxOpenPerTwin ?? DEFAULT_MAX_OPEN_PER_TWIN;
      if (commands.filter((c) => !isEnded(c.status)).length >= max) {
        throw fail('too_large', `Twin "${id}" already has ${max} open commands: wait for answers or cancel some`, { limit: max });
      }
      if (expiresInMs !== undefined && !(await this.hasLiveSession(id))) throw fail('device_offline', `Device "${id}" has no live session to take a direct command`);
      const command = planCommand(id, init, newCommandId(now.getTime()), now, expiresInMs);
      await this.#commit(id, [command]);
      this.#openIndex.track(id, [command]);
      this.#expiry.schedule(id, [...commands, command]);
      const order = orderOf(command);
      this.#heard.push(id, order);
      this.#deps.relay?.push(id, order);
      return { command, created: true };
    }));
  }

  /**
   * The open commands as orders, marked delivered, when the twin may have some (cheap when it has
   * none: no store read). For replies that carry commands to a device, e.g. a CoAP report's 2.04;
   * never fails (none, then).
   */
  async openOrdersIfAny(id: string): Promise<CommandOrder[]> {
    if (!this.available) return [];
    try {
      // On the owner: its open index knows which twins may have open commands.
      return await this.#route('command.openOrders', id, [id], async () => ((await this.#openIndex.mayHaveOpen(id)) ? this.deliverOpen(id) : []));
    } catch {
      // The reply it rides on reports a write already committed: it must not fail for commands,
      // which stay open and reach the device on its next contact.
      return [];
    }
  }

  /**
   * True when twin `id` surely has no open command, answered without waiting: a report's 2.04 then
   * skips `openOrdersIfAny`. False means "ask" (also in cluster mode, where the owner knows).
   */
  knownNoneOpen(id: string): boolean {
    return !this.available || (this.#deps.route === undefined && this.#openIndex.knownNone(id));
  }

  /** Newest first, optionally of one status. */
  list(id: string, status?: CommandStatus): Promise<Command[]> {
    return this.#route('command.list', id, [id, status], () => this.#deps.serialize(id, async () => {
      const commands = await this.#read(id, this.#deps.now());
      return commands.filter((c) => status === undefined || c.status === status).sort(newestFirst);
    }));
  }

  /** The device's own listing: what it is shown is thereby delivered. */
  listForDevice(id: string, status?: CommandStatus): Promise<Command[]> {
    return this.#route('command.listForDevice', id, [id, status], () => this.#deps.serialize(id, async () => {
      const now = this.#deps.now();
      const commands = await this.#read(id, now);
      const shown = commands.filter((c) => status === undefined || c.status === status);
      const delivered = shown.map((c) => deliverCommand(c, now)).filter((c) => c !== null);
      await this.#commit(id, delivered);
      const byId = new Map(delivered.map((c) => [c.id, c]));
      return shown.map((c) => byId.get(c.id) ?? c).sort(newestFirst);
    }));
  }

  /** The open commands as orders for a device session, marked delivered. */
  deliverOpen(id: string): Promise<CommandOrder[]> {
    return this.#route('command.deliverOpen', id, [id], () => this.#deps.serialize(id, async () => {
      const now = this.#deps.now();
      const open = (await this.#read(id, now)).filter((c) => !isEnded(c.status));
      await this.#commit(id, open.map((c) => deliverCommand(c, now)).filter((c) => c !== null));
      return open.map(orderOf);
    }));
  }

  /** Marks one command delivered (a session sent it). Quietly does nothing once it has ended or gone. */
  markDelivered(id: string, cid: string): Promise<void> {
    return this.#route('command.markDelivered', id, [id, cid], () => this.#change(id, cid, (c, now) => deliverCommand(c, now)))
      .then(() => undefined, () => undefined);
  }

  get(id: string, cid: string): Promise<Command> {
    return this.#route('command.get', id, [id, cid], () => this.#deps.serialize(id, async () => findCommand(await this.#read(id, this.#deps.now()), cid)));
  }

  /**
   * The command once it has ended, or as it is after `waitMs` (long poll), or as it is when
   * `signal` aborts (the client went away, the server is draining).
   */
  waitForEnd(id: string, cid: string, waitMs: number, signal?: AbortSignal): Promise<Command> {
    const deps = { listen: this.listen.bind(this), get: this.get.bind(this), now: this.#deps.now, waiting: (n: number) => { this.#waiting += n; } };
    return waitForEnd(deps, id, cid, waitMs, signal);
  }


  cancel(id: string, cid: string): Promise<Command> {
    return this.#route('command.cancel', id, [id, cid], () => this.#change(id, cid, (c, now) => cancelCommand(c, now)));
  }

  /** The device's answer; the first wins, a later one is `command_ended`. */
  answer(id: string, cid: string, answer: { status: CommandOutcome; result?: unknown }): Promise<Command> {
    return this.#route('command.answer', id, [id, cid, answer], () => this.#change(id, cid, (c, now) => answerCommand(c, answer, now)));
  }

  /** A direct command nobody answered in time: ends `expired` unless it ended meanwhile. */
  timeOut(id: string, cid: string): Promise<Command> {
    return this.#route('command.timeOut', id, [id, cid], () => this.#change(id, cid, (c, now) => (isEnded(c.status) ? null : timeOutCommand(c, now))));
  }

  #change(id: string, cid: string, rule: (c: Command, now: Date) => Command | null): Promise<Command> {
    return this.#deps.serialize(id, async () => {
      const now = this.#deps.now();
      const commands = await this.#read(id, now);
      const current = findCommand(commands, cid);
      const next = rule(current, now);
      if (next === null) return current;
      await this.#commit(id, [next]);
      const after = commands.map((c) => (c.id === cid ? next : c));
      this.#openIndex.track(id, after);
      this.#expiry.schedule(id, after);
      return next;
    });
  }

  /** The twin's commands, with due expiries stored and old ended ones pruned (inside the mailbox). */
  async #read(id: string, now: Date): Promise<Command[]> {
    const store = this.#deps.store;
    if (store.readCommands === undefined) throw new DoppelError('unavailable', 'Commands are not available with this store yet: use the LevelDB store');
    const turn = this.#turns.get(id);
    const held = await this.#cache.read(turn, () => store.readCommands!(id));
    // Nothing held can expire or be pruned before the cache's due time: the scan waits till then.
    const commands = this.#cache.due(turn, now.getTime()) ? await this.#expireAndPrune(id, held, now) : held;
    this.#openIndex.track(id, commands);
    this.#expiry.schedule(id, commands);
    return commands;
  }

  async #expireAndPrune(id: string, stored: Command[], now: Date): Promise<Command[]> {
    const kept = stored.filter((c) => !isPrunable(c, now));
    const expired = kept.map((c) => expireIfDue(c, now)).filter((c) => c !== null);
    const pruned: StoreOp[] = stored.filter((c) => isPrunable(c, now)).map((c) => ({ type: 'deleteCommand', twin: id, id: c.id }));
    if (expired.length > 0 || pruned.length > 0) await this.#commit(id, expired, pruned);
    const byId = new Map(expired.map((c) => [c.id, c]));
    this.#cache.settle(this.#turns.get(id));
    return kept.map((c) => byId.get(c.id) ?? c);
  }

  async #commit(id: string, changed: Command[], more: StoreOp[] = []): Promise<void> {
    if (changed.length === 0 && more.length === 0) return;
    const turn = this.#turns.get(id);
    const outbox = this.#deps.outbox === undefined ? [] : changed.flatMap((c) => this.#deps.outbox!.commandOps(c, turn?.twin));
    const ops = [...changed.map((command): StoreOp => ({ type: 'putCommand', command })), ...more];
    await this.#cache.commit(turn, ops, outbox, (all) => this.#deps.store.commit(all));
    if (outbox.length > 0) this.#deps.outbox!.committed(outbox);
    for (const command of changed) {
      this.#heard.tell(id, command);
      this.#deps.relay?.changed(command);
    }
  }
}
