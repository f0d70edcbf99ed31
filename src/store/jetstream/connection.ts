/**
 * Connecting a JetStream store: the NATS connection, the twin stream, the credentials and jobs buckets,
 * created on first use and checked on every open, and the mapping of NATS failures onto our codes.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, StorageType, DiscardPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { boundedWait } from '../../bounded-wait.ts';
import { DoppelError, isDoppelError } from '../../errors.ts';
import { storeNames } from './names.ts';
import type { StoreNames } from './names.ts';

const optionsSchema = z.object({
  /** NATS server URLs; the client fails over between them. */
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** Keeps this store's stream and bucket apart from other stores' on the same NATS. */
  namespace: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 of A-Z a-z 0-9 _ -').default('doppel'),
  /** Copies JetStream keeps of every record (R3 in production; at most the number of servers). */
  replicas: z.number().int().min(1).max(5).default(1),
  /** Events kept per twin, as the server's `historyRetention`. */
  historyRetention: z.number().int().min(1).default(1000),
  /** How long one JetStream request may take before it fails with `unavailable`. */
  timeoutMs: z.number().int().min(100).default(5000),
  /** Connection name shown by the NATS server (the node id). */
  name: z.string().optional(),
});

export type JetStreamStoreOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema>;

export function parseStoreOptions(options: JetStreamStoreOptions): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new DoppelError('invalid_request', `Invalid JetStream store options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Records kept per subject beyond the retained events: records without an event (a device token
 * set, a pending-only change, the tombstone) must not push retained events out.
 */
export const RECORD_SLACK = 16;

export interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  credentials: KV;
  /** Fleet job records (jobs.ts). */
  jobs: KV;
  names: StoreNames;
}

/** JetStream API error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
export const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;

export async function openConnection(o: ResolvedOptions): Promise<Connected> {
  const names = storeNames(o.namespace);
  const nc = await connect({
    servers: o.servers, timeout: o.timeoutMs, maxReconnectAttempts: -1, reconnectTimeWait: 250,
    ...(o.name === undefined ? {} : { name: o.name }),
  }).catch((err: unknown) => { throw unavailable('cannot connect to NATS', err); });
  try {
    const jsm = await jetstreamManager(nc, { timeout: o.timeoutMs });
    const js = jetstream(nc, { timeout: o.timeoutMs });
    await ensureTwinStream(jsm, names, o);
    // Leader reads (no direct get): a replica may lag, and a revoked key must not work there.
    const credentials = await new Kvm(js).create(names.credentials, { replicas: o.replicas, history: 1, timeout: o.timeoutMs, allow_direct: false });
    // Leader reads too: a job's progress and a cancel must look the same from every node.
    const jobs = await new Kvm(js).create(names.jobs, { replicas: o.replicas, history: 1, timeout: o.timeoutMs, allow_direct: false });
    return { nc, js, jsm, credentials, jobs, names };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw unavailable('cannot set up JetStream', err);
  }
}

/** Drains (flushes what is in flight), then closes; with NATS unreachable a drain could wait forever, so it is bounded. */
export async function closeConnection(nc: NatsConnection, timeoutMs: number): Promise<void> {
  await boundedWait(nc.drain(), timeoutMs);
  await nc.close().catch(() => undefined);
}

async function ensureTwinStream(jsm: JetStreamManager, names: StoreNames, o: ResolvedOptions): Promise<void> {
  const config = {
    name: names.stream, subjects: [`${names.twinSubjects}>`], storage: StorageType.File, num_replicas: o.replicas,
    // The last records of each twin are its history; older ones fall out by themselves.
    max_msgs_per_subject: o.historyRetention + RECORD_SLACK, discard: DiscardPolicy.Old,
  };
  const existing = await jsm.streams.info(names.stream).catch((err: unknown) => {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
    throw err;
  });
  if (existing === undefined) await jsm.streams.add(config).catch((err: unknown) => { throw replicaRefusal(err, o.replicas) ?? err; });
  // A changed retention or replica count applies to the existing stream (JetStream moves the data).
  else if (existing.config.max_msgs_per_subject !== config.max_msgs_per_subject || existing.config.num_replicas !== config.num_replicas) {
    await jsm.streams.update(names.stream, { max_msgs_per_subject: config.max_msgs_per_subject, num_replicas: config.num_replicas })
      .catch((err: unknown) => { throw replicaRefusal(err, o.replicas) ?? err; });
  }
}

/** JetStream refused the replica count: R>1 on a single server (10074), or more replicas than servers. */
function replicaRefusal(err: unknown, replicas: number): DoppelError | undefined {
  if (!(err instanceof JetStreamApiError)) return undefined;
  if (err.code === 10074 || /insufficient resources|replicas/i.test(err.message)) {
    return new DoppelError('invalid_request', `Invalid --cluster-replicas ${replicas}: the NATS servers cannot hold ${replicas} copies (${err.message}); use at most the number of NATS servers in the JetStream cluster`);
  }
  return undefined;
}

/** A storage failure: the request failed and, as far as this store can tell, nothing changed. */
export function unavailable(what: string, cause: unknown): DoppelError {
  if (isDoppelError(cause)) return cause;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new DoppelError('unavailable', `Storage unavailable: ${what}: ${why}`, { cause });
}
