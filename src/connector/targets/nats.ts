/**
 * @module
 * NATS target: publishes each event to `<subject>.<twin id>`. A twin id may contain `.`, which
 * NATS reads as a token separator, so the id is encoded as one token: `%` → `%25`, `.` → `%2E`
 * (`%` never occurs in ids; decoding is `decodeURIComponent`). When a JetStream stream captures
 * `<subject>.>` (asked of JetStream, the answer kept 10 s), the publish waits for the stream's ack;
 * otherwise a core publish plus a flush (the server has it) acknowledges.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { OutboxEntry } from '../../store/types.ts';
import { DeliveryError, withTimeout } from './target.ts';
import type { Target } from './target.ts';

const TIMEOUT_MS = 10_000;
/** How long the answer to "does a stream capture `<subject>.>`?" is trusted before asking again. */
const STREAM_CHECK_MS = 10_000;

/**
 * The NATS client, loaded on first use: a server without NATS connectors (and not in cluster mode)
 * never loads it, which keeps a single-node start lean.
 */
let library: Promise<{ connect: typeof import('@nats-io/transport-node').connect; js: typeof import('@nats-io/jetstream') }> | null = null;
const natsLibrary = () => (library ??= Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')])
  .then(([transport, js]) => ({ connect: transport.connect, js }), (err: unknown) => { library = null; throw err; }));

export function natsToken(twin: string): string {
  return twin.replaceAll('%', '%25').replaceAll('.', '%2E');
}

export function natsTarget(opts: { url: string; subject: string }): Target {
  let connection: Promise<NatsConnection> | null = null;
  const connected = (): Promise<NatsConnection> => {
    connection ??= natsLibrary().then(({ connect }) => connect({ servers: opts.url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 }))
      .catch((err: unknown) => { connection = null; throw err; });
    return connection;
  };
  let streamCheck: { at: number; captured: Promise<boolean> } | null = null;
  const captured = (nc: NatsConnection): Promise<boolean> => {
    if (streamCheck === null || Date.now() - streamCheck.at > STREAM_CHECK_MS) streamCheck = { at: Date.now(), captured: capturedByStream(nc, opts.subject) };
    return streamCheck.captured;
  };
  return {
    async send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void> {
      const subject = `${opts.subject}.${natsToken(entry.twin)}`;
      try {
        const nc = await withTimeout(connected(), TIMEOUT_MS, 'NATS connect', signal);
        // Asked, not tried: a JetStream publish to a subject that only plain subscribers listen on
        // would wait for an ack that never comes.
        if (await captured(nc)) {
          await (await natsLibrary()).js.jetstream(nc).publish(subject, body, { msgID: entry.eventId, timeout: TIMEOUT_MS });
          return;
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

/** Whether a JetStream stream captures any subject under `subject.`; false without JetStream. */
async function capturedByStream(nc: NatsConnection, subject: string): Promise<boolean> {
  try {
    const jsm = await (await natsLibrary()).js.jetstreamManager(nc, { timeout: 2000 });
    for await (const name of jsm.streams.names(`${subject}.>`)) if (name !== '') return true;
    return false;
  } catch {
    return false;
  }
}
