/**
 * Command metrics, fed by every committed status change: how many commands reached each status
 * (`queued` counts invocations) and how long the ended ones took from invocation to their end.
 */
import type { MetricsRegistry } from '../src/metrics/index.ts';
import { isEnded } from '../src/twin/commands.ts';
import type { CommandService } from './command-service.ts';

const STATUSES = ['queued', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled'] as const;

/**
 * Registers the command metrics on `metrics`; returns the function that stops feeding them.
 * `commands` may be missing where a route table is built around a stub service (OpenAPI tests):
 * the series then exist and stay at zero.
 */
export function commandMetrics(commands: CommandService | undefined, metrics: MetricsRegistry): () => void {
  const changes = metrics.counter({
    name: 'doppel_commands_total', help: 'Commands reaching each status (queued: invoked; succeeded, failed, expired, cancelled: ended)', labelNames: ['status'],
  });
  for (const status of STATUSES) changes.inc({ status }, 0);
  const latency = metrics.histogram({
    name: 'doppel_command_duration_seconds', help: 'From invocation to the end of a command, by how it ended', labelNames: ['status'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600, 86400],
  });
  metrics.gauge({ name: 'doppel_command_waits', help: 'Requests waiting for a command to end (long polls, direct invocations)', collect: () => commands?.waiting ?? 0 });
  if (commands === undefined) return () => {};
  return commands.listenAll((command) => {
    changes.inc({ status: command.status });
    if (isEnded(command.status)) latency.observe({ status: command.status }, Math.max(0, Date.parse(command.updatedAt) - Date.parse(command.createdAt)) / 1000);
  });
}
