/**
 * Whether a configuration asks for cluster mode: its own module, so a single-node start can ask
 * without loading the cluster code and the NATS client (src/server.ts imports those only then).
 */
import type { Config } from '../config.ts';

/** True when the configuration asks for cluster mode (`--cluster` and `--node-id`). */
export function inClusterMode(config: Config): config is Config & { cluster: string; nodeId: string } {
  return config.cluster !== undefined && config.nodeId !== undefined;
}
