/**
 * @module
 * What the HTTP API asks of the connectors, whichever store keeps them: the LevelDB outbox
 * (service.ts) or the twin stream in cluster mode (cluster-service.ts).
 */
import type { ConnectorDefinition } from './definition.ts';

export interface ConnectorRegistry {
  /** Stores and starts a connector; `already_exists` when the id is taken. */
  add(def: ConnectorDefinition): Promise<Record<string, unknown>>;
  /** Every definition, in id order, never a secret. */
  list(): Record<string, unknown>[] | Promise<Record<string, unknown>[]>;
  /** The definition with its delivery numbers; `not_found` when absent. */
  view(id: string): Promise<Record<string, unknown>>;
  /** Stops and forgets the connector and its undelivered events; `not_found` when absent. */
  remove(id: string): Promise<void>;
}
