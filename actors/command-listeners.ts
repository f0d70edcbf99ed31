/**
 * Who hears of a node's commands: listeners of one twin's status changes (long polls, direct
 * invocations, app sessions following the twin by id), of the twins under an id prefix (app
 * sessions following a prefix; the empty prefix is every twin: metrics), and live device sessions
 * taking new orders. Indexed by twin id and by prefix, so a change is offered only to those
 * following its twin, never to every app session. In-memory only; the service calls them after
 * each commit.
 */
import type { Command, CommandOrder } from '../src/twin/commands.ts';
import type { DeviceSink } from './command-routing.ts';

type Listener = (command: Command) => void;

export class CommandListeners {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #prefixes = new Map<string, Set<Listener>>();
  readonly #sinks = new Map<string, Set<DeviceSink>>();

  /** Hears every status change of twin `id`'s commands; returns the remover. */
  listen(id: string, listener: Listener): () => void {
    return addTo(this.#listeners, id, listener);
  }

  /** Hears every status change of the commands of twins whose id starts with `prefix`; returns the remover. */
  listenPrefix(prefix: string, listener: Listener): () => void {
    return addTo(this.#prefixes, prefix, listener);
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

  /** How many listeners a change of twin `id` is offered to (each once). */
  audience(id: string): number {
    return this.#audience(id).size;
  }

  /** Hands a committed change to this node's listeners. */
  tell(id: string, command: Command): void {
    for (const listener of this.#audience(id)) {
      try {
        listener(command);
      } catch {
        // One failing listener (a closed session) must not fail the committed change for others.
      }
    }
  }

  /**
   * The listeners of twin `id` and of every prefix of it, once each (a session following the twin
   * by id and by prefix registers one listener under both). Cost bounded by the id's length or the
   * number of prefixes followed, whichever is smaller, not by the number of sessions.
   */
  #audience(id: string): Set<Listener> {
    const found = new Set(this.#listeners.get(id));
    if (this.#prefixes.size === 0) return found;
    if (this.#prefixes.size <= id.length + 1) {
      for (const [prefix, set] of this.#prefixes) if (id.startsWith(prefix)) for (const l of set) found.add(l);
    } else {
      for (let end = 0; end <= id.length; end++) for (const l of this.#prefixes.get(id.slice(0, end)) ?? []) found.add(l);
    }
    return found;
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
