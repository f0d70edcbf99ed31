/**
 * Commands in cluster mode: which steps of `CommandService` a node forwards to the twin's owner
 * (so first-answer-wins and expiry happen in one place), and what the service needs of the relay
 * to device sessions and waiters on other nodes (src/cluster/command-relay.ts).
 */
import type { Command, CommandOrder } from '../src/twin/commands.ts';
import type { CommandService } from './command-service.ts';

/** A live device session that can take a command now (WebSocket device session, CoAP observation). */
export type DeviceSink = (order: CommandOrder) => void;

/** The command steps a cluster node forwards to the twin's owner (src/cluster/router.ts). */
export type CommandOp =
  | 'command.invoke' | 'command.list' | 'command.listForDevice' | 'command.deliverOpen' | 'command.markDelivered'
  | 'command.get' | 'command.cancel' | 'command.answer' | 'command.timeOut' | 'command.openOrders';

export const COMMAND_OPS: readonly CommandOp[] = [
  'command.invoke', 'command.list', 'command.listForDevice', 'command.deliverOpen', 'command.markDelivered',
  'command.get', 'command.cancel', 'command.answer', 'command.timeOut', 'command.openOrders',
];

/** Runs a command step where its twin lives: `local` here, or `op(...args)` on the owner. */
export type CommandRoute = <T>(op: CommandOp, id: string, args: unknown[], local: () => Promise<T>) => Promise<T>;

/**
 * Cluster mode (src/cluster/command-relay.ts): device sessions and waiters on other nodes. The
 * owner asks it whether a session is live elsewhere, pushes new orders and announces changes.
 */
export interface CommandRelay {
  /** Announces a live device session of `id` on this node; orders pushed to it reach `sink`. */
  present(id: string, sink: DeviceSink): () => void;
  /** Whether another node holds a live device session of `id`. */
  elsewhere(id: string): Promise<boolean>;
  push(id: string, order: CommandOrder): void;
  changed(command: Command): void;
  /** Hears changes committed on other nodes. */
  onChange(listener: (command: Command) => void): void;
}

/** Runs a step forwarded by another node (this node owns the twin). */
export function runCommandOp(service: CommandService, op: CommandOp, args: unknown[]): Promise<unknown> {
  const [id, a, b] = args as [string, never, never];
  switch (op) {
    case 'command.invoke': return service.invoke(id, a, b);
    case 'command.list': return service.list(id, a);
    case 'command.listForDevice': return service.listForDevice(id, a);
    case 'command.deliverOpen': return service.deliverOpen(id);
    case 'command.markDelivered': return service.markDelivered(id, a);
    case 'command.get': return service.get(id, a);
    case 'command.cancel': return service.cancel(id, a);
    case 'command.answer': return service.answer(id, a, b);
    case 'command.timeOut': return service.timeOut(id, a);
    case 'command.openOrders': return service.openOrdersIfAny(id);
  }
}
