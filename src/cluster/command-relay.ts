/**
 * Commands across nodes. A twin's command steps run on its owner (router.ts), but the device's
 * live session may sit on any node, and so may a caller waiting for an answer. Two core NATS
 * subjects bridge that:
 *
 * - `dpl.<ns>.device.<token>`: a node subscribes while it holds a live device session of that
 *   twin (its presence). The owner asks it "is anyone there?" before a direct command (no
 *   responders: `device_offline`) and publishes each new command's order on it.
 * - `dpl.<ns>.commands`: the owner publishes every committed command change; every node hands it
 *   to its local listeners (long polls, direct-command waits, app sessions).
 *
 * Core NATS is at-most-once: a lost push leaves the command open (the device gets it on its next
 * contact, or a direct command ends `expired`), and a lost change only makes a waiter re-read at
 * its deadline. The state of record is always the store.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeValue, encodeValue } from '../store/codec.ts';
import { twinToken } from '../store/jetstream/names.ts';
import type { Command, CommandOrder } from '../twin/commands.ts';
import type { CommandRelay } from '../../actors/command-routing.ts';

/** How long the owner waits for a session node to say it is there. */
const PRESENCE_TIMEOUT_MS = 2_000;

type DeviceMessage = { from: string; order: CommandOrder } | { from: string; ping: true };
interface ChangeMessage { from: string; command: Command }

interface Presence { sinks: Set<(order: CommandOrder) => void>; sub: Subscription | null }

export class NatsCommandRelay implements CommandRelay {
  readonly #node: string;
  readonly #namespace: string;
  #nc: NatsConnection | null = null;
  #changes: Subscription | null = null;
  readonly #present = new Map<string, Presence>();
  #onChange: (command: Command) => void = () => {};

  constructor(node: string, namespace: string) {
    this.#node = node;
    this.#namespace = namespace;
  }

  /** Starts relaying on `nc` (again after a reconnect): presence of open sessions is re-announced. */
  connect(nc: NatsConnection): void {
    this.stop();
    this.#nc = nc;
    this.#changes = nc.subscribe(`dpl.${this.#namespace}.commands`, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const m = decodeValue<ChangeMessage>(msg.data);
          if (m.from !== this.#node) this.#onChange(m.command);
        } catch {
          // A malformed message from outside Doppel: ignored.
        }
      },
    });
    for (const [id, p] of this.#present) p.sub = this.#subscribeDevice(id, p);
  }

  stop(): void {
    this.#changes?.unsubscribe();
    this.#changes = null;
    for (const p of this.#present.values()) { p.sub?.unsubscribe(); p.sub = null; }
    this.#nc = null;
  }

  onChange(listener: (command: Command) => void): void { this.#onChange = listener; }

  present(id: string, sink: (order: CommandOrder) => void): () => void {
    let p = this.#present.get(id);
    if (p === undefined) {
      p = { sinks: new Set(), sub: null };
      this.#present.set(id, p);
      p.sub = this.#subscribeDevice(id, p);
    }
    const presence = p;
    presence.sinks.add(sink);
    return () => {
      presence.sinks.delete(sink);
      if (presence.sinks.size > 0 || this.#present.get(id) !== presence) return;
      this.#present.delete(id);
      presence.sub?.unsubscribe();
    };
  }

  async elsewhere(id: string): Promise<boolean> {
    const nc = this.#nc;
    if (nc === null) return false;
    try {
      await nc.request(this.#deviceSubject(id), encodeValue({ from: this.#node, ping: true } satisfies DeviceMessage), { timeout: PRESENCE_TIMEOUT_MS });
      return true;
    } catch {
      // No responders (nobody holds a session) or no answer in time: offline either way.
      return false;
    }
  }

  push(id: string, order: CommandOrder): void {
    this.#publish(this.#deviceSubject(id), { from: this.#node, order } satisfies DeviceMessage);
  }

  changed(command: Command): void {
    this.#publish(`dpl.${this.#namespace}.commands`, { from: this.#node, command } satisfies ChangeMessage);
  }

  #publish(subject: string, message: unknown): void {
    try {
      this.#nc?.publish(subject, encodeValue(message));
    } catch {
      // A closed connection: the command stays in the store, open for the device's next contact.
    }
  }

  #deviceSubject(id: string): string { return `dpl.${this.#namespace}.device.${twinToken(id)}`; }

  #subscribeDevice(id: string, p: Presence): Subscription | null {
    const nc = this.#nc;
    if (nc === null) return null;
    return nc.subscribe(this.#deviceSubject(id), {
      callback: (err, msg) => {
        if (err !== null) return;
        let m: DeviceMessage;
        try {
          m = decodeValue<DeviceMessage>(msg.data);
        } catch {
          return;
        }
        if ('ping' in m) { msg.respond(encodeValue(true)); return; }
        // The owner's own sessions got the order directly.
        if (m.from === this.#node) return;
        for (const sink of [...p.sinks]) {
          try { sink(m.order); } catch { /* a closing session; the command stays open */ }
        }
      },
    });
  }
}
