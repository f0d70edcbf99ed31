/**
 * @module
 * The store seam: everything the core persists goes through `TwinStore`. Implementations:
 * `level-store.ts` (LevelDB, production) and `memory-store.ts` (unit tests); both pass the same
 * suite in `store-suite.ts`.
 */
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { Command } from '../twin/commands.ts';
import type { Job, JobStatus } from '../job/types.ts';

export type Scope = 'twins:read' | 'twins:write' | 'keys:admin';

/** A credential record. Only the SHA-256 of the secret is kept (`hash`, base64url). */
export type StoredCredential =
  | { kind: 'device'; id: string; twin: string; hash: string; createdAt: string }
  | { kind: 'key'; id: string; name: string | null; scopes: Scope[]; prefix: string | null; hash: string; createdAt: string };

/** The credential record of one kind. */
export type CredentialOf<K extends StoredCredential['kind']> = Extract<StoredCredential, { kind: K }>;

/** One write inside an atomic commit. */
export type StoreOp =
  | { type: 'putTwin'; twin: TwinState }
  | { type: 'deleteTwin'; id: string }
  | { type: 'putEvent'; event: ChangeEvent }
  | { type: 'deleteEvent'; twin: string; version: number }
  | { type: 'putCredential'; credential: StoredCredential }
  | { type: 'deleteCredential'; kind: StoredCredential['kind']; id: string }
  /** The pending index (`pending-index.ts` derives these from a twin's old and new state). */
  | { type: 'putPending'; twin: string; since: string }
  | { type: 'deletePending'; twin: string; since: string }
  /** A command to a device (src/twin/commands.ts), kept under its twin. */
  | { type: 'putCommand'; command: Command }
  | { type: 'deleteCommand'; twin: string; id: string }
  /** A fleet job (src/job/types.ts), and its done-mark on one twin (committed with its change). */
  | { type: 'putJob'; job: Job }
  /** An ended job's record, deleted by retention (its done-marks are deleted first, as ops of their own). */
  | { type: 'deleteJob'; id: string }
  | { type: 'putJobMark'; job: string; twin: string }
  | { type: 'deleteJobMark'; job: string; twin: string }
  /** An outbound connector's definition, and its durable outbox (src/connector). */
  | { type: 'putConnector'; connector: StoredConnector }
  | { type: 'deleteConnector'; id: string }
  | { type: 'putOutbox'; entry: OutboxEntry }
  | { type: 'deleteOutbox'; connector: string; seq: number };

/** What a connector forwards: twin changes, deletions, command status changes. */
export type ConnectorEventType = 'change' | 'deleted' | 'command';

/**
 * An outbound connector as stored. `secret` (webhook) is kept as given, not hashed: it keys the
 * HMAC of every delivery, so it must be recoverable; the API never returns it.
 */
export interface StoredConnector {
  id: string;
  kind: 'webhook' | 'nats' | 'mqtt';
  prefix: string | null;
  filter: string | null;
  events: ConnectorEventType[];
  maxAgeSeconds: number;
  url: string;
  secret?: string;
  /** Webhook: seconds one POST may take (default 10). */
  timeoutSeconds?: number;
  subject?: string;
  topic?: string;
  createdAt: string;
  /** Delivery counts so far, saved now and then and at a clean stop (absent until first saved). */
  counts?: ConnectorCounts;
}

/** A connector's delivery counts, kept across restarts. */
export interface ConnectorCounts { delivered: number; failed: number; dropped: number }

/** One event waiting for a connector's target to acknowledge it; `seq` orders a connector's backlog. */
export interface OutboxEntry {
  connector: string;
  seq: number;
  twin: string;
  type: ConnectorEventType;
  /** `<twin>:<version>`, or `<twin>:cmd:<cid>:<status>` for commands. */
  eventId: string;
  /** When the event was written (ISO). */
  at: string;
  event: object;
  /**
   * The public twin a connector's filter sees, when the store selects connectors at delivery
   * (cluster mode) and the stored state is not that twin (a deletion). Unset otherwise.
   */
  view?: object | null;
}

/** Numbers a store reports after each physical batch (for /metrics). */
/** One physical batch written (or failed: its commits were all rejected with `unavailable`). */
export interface BatchStats { commits: number; ops: number; bytes: number; ms: number; failed: boolean }

export interface TwinStore {
  open(): Promise<void>;
  /** Waits for queued commits, then closes. Later calls fail with `unavailable`. */
  close(): Promise<void>;

  getTwin(id: string): Promise<TwinState | undefined>;
  /**
   * Applies `ops` atomically and resolves only once they are written (durable against a process
   * crash; against power loss too when the store was opened with `sync`). Concurrent commits share
   * physical batches (group commit). Rejects with `unavailable` on a storage failure, in which case
   * none of `ops` was applied.
   */
  commit(ops: StoreOp[]): Promise<void>;
  /** Ops that delete a twin and its whole history (to pass to `commit`, maybe with more ops). */
  deleteTwinOps(id: string): Promise<StoreOp[]>;
  /** Twins in id order, starting after `after` (exclusive), restricted to ids starting with `prefix`. */
  listTwins(opts: { prefix?: string; after?: string; limit?: number }): AsyncIterable<TwinState>;
  /** Change events with version > `after`, ascending, at most `limit`. */
  readHistory(id: string, opts: { after: number; limit: number }): Promise<ChangeEvent[]>;

  /** The credential of that kind with that id; keys and device credentials are apart, one read. */
  getCredential<K extends StoredCredential['kind']>(kind: K, id: string): Promise<CredentialOf<K> | undefined>;
  /** Every credential of one kind, in id order; reads only that kind's records. */
  listCredentials<K extends StoredCredential['kind']>(kind: K): Promise<CredentialOf<K>[]>;

  /**
   * Every stored record in key order, as stored (values in their CBOR encoding), read from one
   * consistent snapshot: writes landing meanwhile are either wholly in it or not at all. For backups.
   */
  records(): AsyncIterable<{ key: string; value: Uint8Array }>;

  /** How many twins are out of sync (reads the pending index's keys: once, at startup). */
  countPending(): Promise<number>;
  /** The twin out of sync the longest, if any (one seek). */
  oldestPending(): Promise<{ twin: string; since: string } | undefined>;

  /**
   * Optional (LevelDB, memory and JetStream stores): every command of twin `id`, in id
   * order (creation order). `deleteTwinOps` deletes them with the twin.
   */
  readCommands?(id: string): Promise<Command[]>;
  /** Optional (LevelDB and memory stores): every connector definition, in id order. */
  listConnectors?(): Promise<StoredConnector[]>;
  /**
   * Optional, with `listConnectors`: the first `limit` outbox entries of a connector in seq order,
   * only those with a seq above `after` when given.
   */
  readOutbox?(connector: string, limit: number, after?: number): Promise<OutboxEntry[]>;
  /** Optional, with `listConnectors`: the highest seq in a connector's outbox (-1 when empty). */
  lastOutboxSeq?(connector: string): Promise<number>;

  /** Optional, with `readCommands`: the ids of every twin holding command records (a key-only scan). */
  commandTwins?(): Promise<string[]>;

  /** Optional (LevelDB and memory stores): one fleet job. */
  getJob?(id: string): Promise<Job | undefined>;
  /** Optional, with `getJob`: every fleet job, in id order. */
  listJobs?(): Promise<Job[]>;
  /** Optional, with `getJob`: whether job `job` has marked twin `twin` done. */
  hasJobMark?(job: string, twin: string): Promise<boolean>;
  /** Optional, with `getJob`: the twins job `job` has marked (a key-only scan, to delete them once it ended). */
  jobMarks?(job: string): Promise<string[]>;
  /** Optional (JetStream): the jobs that have marked any twin, in one index read (a cluster tick's sweep). */
  markedJobs?(): Promise<string[]>;
  /**
   * Optional (stores shared by nodes: JetStream): ends a running job as stored now, keeping the
   * stored counters and cursor (compare-and-set); `job_ended` when it already ended.
   */
  endJob?(id: string, status: Exclude<JobStatus, 'running'>, at: Date): Promise<Job>;

  /**
   * Optional (stores that fence writers: JetStream). The caller no longer holds the state it read
   * of twin `id` (its actor passivated): the store may forget the read position it kept as the
   * fence for that twin's next commit. A commit after `release` without a new `getTwin` is not
   * fenced against writes made since the earlier read.
   */
  release?(id: string): void;

  /** Called after every physical batch, for metrics. */
  onBatch?: (stats: BatchStats) => void;
}
