/**
 * @module
 * NATS target: publishes each event to `<subject>.<twin id>`. A twin id may contain `.`, which
 * NATS reads as a token separator, so the id is encoded as one token: `%` → `%25`, `.` → `%2E`
 * (`%` never occurs in ids; decoding is `decodeURIComponent`). When a JetStream stream captures
 * the subject, the publish waits for the stream's ack; otherwise a core publish plus a flush
 * (the server has it) acknowledges; after such a miss, plain publishes for 10 s before JetStream
 * is asked again, so a subject without a stream does not pay two round trips per event.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { OutboxEntry } from '../../store/types.ts';
import { DeliveryError, withTimeout } from './target.ts';
import type { Target } from './target.ts';

const TIMEOUT_MS = 10_000;
/** After JetStream said no stream captures the subject, publish plainly for this long before asking again. */
const CORE_ONLY_MS = 10_000;

export function natsToken(twin: string): string {
  return twin.replaceAll('%', '%25').replaceAll('.', '%2E');
}

export function natsTarget(opts: { url: string; subject: string }): Target {
  let connection: Promise<NatsConnection> | null = null;
  const connected = (): Promise<NatsConnection> => {
    connection ??= connect({ servers: opts.url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 })
      .catch((err: unknown) => { connection = null; throw err; });
    return connection;
  };
  let coreUntil = 0;
  return {
    async send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      const subject = `${opts.subject}.${natsToken(entry.twin)}`;
      try {
        const nc = await withTimeout(connected(), TIMEOUT_MS, 'NATS connect', signal);
        if (Date.now() >= coreUntil) {
          try {
            await jetstream(nc).publish(subject, body, { msgID: entry.eventId, timeout: TIMEOUT_MS });
            return;
          } catch (err) {
            // No stream captures the subject (nobody answers), or no JetStream at all: core publish.
            if (!isNoStream(err)) throw err;
            coreUntil = Date.now() + CORE_ONLY_MS;
          }
        }
        nc.publish(subject, body);
        await withTimeout(nc.flush(), TIMEOUT_MS, 'NATS flush', signal);
      } catch (err) {
        throw err instanceof DeliveryError ? err : new DeliveryError(`NATS publish failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    async close(): Promise<void> {
      const pending = connection;
      connection = null;
      if (pending !== null) await withTimeout(pending.then((nc) => nc.close()), 2000, 'NATS close').catch(() => undefined);
    },
  };
}

function isNoStream(err: unknown): boolean {
  const text = `${err instanceof Error ? `${err.name} ${err.message}` : String(err)} ${String((err as { code?: unknown }).code ?? '')}`;
  return /no responders|503|NoResponders|jetstream is not enabled/i.test(text);
}
