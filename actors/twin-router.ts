/**
 * The cluster seam of the twin service: which node runs a twin's requests. Without a router every
 * twin is local; src/cluster/router.ts implements it over NATS.
 */
import type { Connection } from '../src/twin/types.ts';
import type { CommandOp, CommandRelay } from './command-routing.ts';

/** The requests a cluster node forwards to a twin's owner (their arguments travel as CBOR). */
export type RoutedOp = 'create' | 'get' | 'read' | 'touch' | 'patch' | 'remove' | 'issueDeviceToken' | CommandOp;

/**
 * The cluster seam: which node runs a twin's requests. Without a router every twin is local.
 * `route` runs `local` when this node owns the twin, else sends `op(...args)` to the owner.
 */
export interface TwinRouter {
  owns(id: string): boolean;
  route<T>(op: RoutedOp, id: string, args: unknown[], local: () => Promise<T>): Promise<T>;
  /** Commands' device sessions and waiters on other nodes (src/cluster/command-relay.ts). */
  readonly relay?: CommandRelay;
  /**
   * The live connection of each of `ids` owned by another node whose actor is resident there
   * (listings, see owner-connections.ts); a twin left out has none but what its state stores.
   */
  connectionsOf?(ids: readonly string[]): Promise<ReadonlyMap<string, Connection>>;
}
