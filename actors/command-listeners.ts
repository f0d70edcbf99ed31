/**
 * Who hears of a node's commands: listeners of one twin's status changes (long polls, direct
 * invocations), of every twin's (app sessions filter by what they follow), and live device
 * sessions taking new orders. In-memory only; the service calls them after each commit.
 */
import type { Command, CommandOrder } from '../src/twin/commands.ts';
import type { DeviceSink } from './command-routing.ts';

export class CommandListeners {
  readonly #listeners = new Map<string, Set<(command: Command) => void>>();
  readonly #sinks = new Map<string, Set<DeviceSink>>();
  readonly #all = new Set<(command: Command) => void>();

  /** Hears every status change of twin `id`'s commands; returns the remover. */
  listen(id: string, listener: (command: Command) => void): () => void {
    return addTo(this.#listeners, id, listener);
  }

  listenAll(listener: (command: Command) => void): () => void {
    this.#all.add(listener);
    return () => { this.#all.delete(listener); };
  }

  /** A live device session of twin `id`; returns the detacher. */
  attachSink(id: string, sink: DeviceSink): () => void {
    return addTo(this.#sinks, id, sink);
  }

  hasSink(id: string): boolean {
    return (this.#sinks.get(id)?.size ?? 0) > 0;
  }

  /** Sends a new order to the twin's live device sessions on this node. */
  push(id: string, order: CommandOrder): void {
    for (const sink of this.#sinks.get(id) ?? []) {
      try { sink(order); } catch { /* a closing session; the command stays open for the next */ }
    }
  }

  /** Hands a committed change to this node's listeners. */
  tell(id: string, command: Command): void {
    for (const listener of [...this.#listeners.get(id) ?? [], ...this.#all]) {
      try {
        listener(command);
      } catch {
        // One failing listener (a closed session) must not fail the committed change for others.
      }
    }
  }
}

function addTo<T>(map: Map<string, Set<T>>, id: string, item: T): () => void {
  let set = map.get(id);
  if (set === undefined) map.set(id, set = new Set());
  set.add(item);
  return () => {
    set.delete(item);
    if (set.size === 0 && map.get(id) === set) map.delete(id);
  };
}
