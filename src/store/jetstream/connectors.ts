/**
 * Connectors of a cluster (docs/design/cluster.md §11): their definitions and delivery numbers in
 * the KV bucket `dpl_<ns>_connectors` (R replicas, leader reads), and one durable pull consumer per
 * connector on the twin stream, whose ack floor is where that connector's outbox begins.
 *
 * Keys: `d.<id>` the definition (with the stream sequence its delivery starts at), `s.<id>` the
 * numbers the delivering node last published, `p.<id>.<twin token>` a parked twin (delivered
 * apart from the consumer, from `fromSeq` on: src/connector/parked-twins.ts).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { decodeValue, encodeValue } from '../codec.ts';
import type { StoredConnector } from '../types.ts';
import type { Connected } from './connection.ts';
import { unavailable } from './connection.ts';
import { listKeys } from './kv-keys.ts';
import { twinToken } from './names.ts';

/** A connector as the cluster stores it: delivery starts at stream sequence `startSeq`. */
export interface ClusterConnector extends StoredConnector { startSeq: number }

export const ConnectorNumbers = z.object({
  delivered: z.number().int(), failed: z.number().int(), dropped: z.number().int(), lastError: z.string().nullable(),
  state: z.enum(['healthy', 'failing']),
  /** When the oldest event the delivering node held undelivered was written (ms), null when caught up. */
  oldestAt: z.number().nullable(),
  /** The consumer's ack floor when published: a restart never begins below it. */
  floor: z.number().int(),
  node: z.string(),
});
export type ConnectorNumbers = z.infer<typeof ConnectorNumbers>;

export const ZERO_NUMBERS: Omit<ConnectorNumbers, 'node'> = { delivered: 0, failed: 0, dropped: 0, lastError: null, state: 'healthy', oldestAt: null, floor: 0 };

/** Unacknowledged records a connector may hold at once: bounds its memory however long its target is down. */
export const MAX_ACK_PENDING = 1024;
/** The server redelivers a held record after this long unless told the worker is still on it. */
export const ACK_WAIT_MS = 30_000;
const CONSUMER_NOT_FOUND = 10014;
const KEY_EXISTS = 10071;

/** A twin delivered apart from the consumer, from stream sequence `fromSeq` of its subject on. */
export const ParkedTwin = z.object({ twin: z.string(), fromSeq: z.number().int().positive() });
export type ParkedTwin = z.infer<typeof ParkedTwin>;
const parkedKey = (connector: string, twin: string): string => `p.${connector}.${twinToken(twin)}`;

export const consumerName = (connector: string): string => `dpl_conn_${connector}`;

/** A key listing gives up after this long (`unavailable`) rather than wait on a stalled NATS. */
const LIST_TIMEOUT_MS = 5_000;

export class ConnectorBucket {
  readonly #kv: KV;
  readonly #c: Connected;

  private constructor(c: Connected, kv: KV) {
    this.#c = c;
    this.#kv = kv;
  }

  static async open(c: Connected, namespace: string, replicas: number): Promise<ConnectorBucket> {
    const kv = await new Kvm(c.js).create(`dpl_${namespace}_connectors`, { replicas, history: 1, allow_direct: false })
      .catch((err: unknown) => { throw unavailable('cannot open the connectors bucket', err); });
    return new ConnectorBucket(c, kv);
  }

  /** The connection this bucket was opened on. */
  get connected(): Connected { return this.#c; }

  /** Stores a new definition starting after the stream's last record; false when the id is taken. */
  async create(def: StoredConnector): Promise<ClusterConnector | false> {
    const last = await this.#c.jsm.streams.info(this.#c.names.stream).catch((err: unknown) => { throw unavailable('cannot read the twin stream', err); });
    const stored: ClusterConnector = { ...def, startSeq: last.state.last_seq + 1 };
    try {
      await this.#kv.create(`d.${def.id}`, encodeValue(stored));
    } catch (err) {
      if (isApiError(err, KEY_EXISTS) || /wrong last sequence|key exists/i.test(String(err))) return false;
      throw unavailable('cannot store a connector', err);
    }
    await this.#kv.delete(`s.${def.id}`).catch(() => undefined);
    // A parked twin a deleted connector of the same id left behind (its loop wrote late).
    for (const p of await this.parked(def.id).catch(() => [])) await this.#kv.purge(parkedKey(def.id, p.twin)).catch(() => undefined);
    return stored;
  }

  async get(id: string): Promise<ClusterConnector | undefined> {
    const entry = await this.#kv.get(`d.${id}`).catch((err: unknown) => { throw unavailable('cannot read a connector', err); });
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return decodeValue<ClusterConnector>(entry.value);
  }

  /** Every definition, in id order. */
  async list(): Promise<ClusterConnector[]> {
    const keys = await listKeys(this.#kv, 'd.>', LIST_TIMEOUT_MS);
    const found = await Promise.all(keys.sort().map((k) => this.get(k.slice(2))));
    return found.filter((d): d is ClusterConnector => d !== undefined);
  }

  /** Forgets the definition, its numbers and its consumer (the undelivered records stay in the stream). */
  async remove(id: string): Promise<void> {
    await this.#kv.delete(`d.${id}`).catch((err: unknown) => { throw unavailable('cannot delete a connector', err); });
    await this.#kv.delete(`s.${id}`).catch(() => undefined);
    for (const p of await this.parked(id).catch(() => [])) await this.#kv.purge(parkedKey(id, p.twin)).catch(() => undefined);
    await this.#c.jsm.consumers.delete(this.#c.names.stream, consumerName(id)).catch(() => undefined);
  }

  async numbers(id: string): Promise<ConnectorNumbers | undefined> {
    const entry = await this.#kv.get(`s.${id}`).catch((err: unknown) => { throw unavailable('cannot read a connector\'s numbers', err); });
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    const parsed = ConnectorNumbers.safeParse(decodeValue(entry.value));
    return parsed.success ? parsed.data : undefined;
  }

  async publish(id: string, numbers: ConnectorNumbers): Promise<void> {
    await this.#kv.put(`s.${id}`, encodeValue(numbers));
  }

  /** Records (durably) that `twin` is delivered apart from the consumer, from `fromSeq` on. */
  async park(id: string, twin: string, fromSeq: number): Promise<void> {
    await this.#kv.put(parkedKey(id, twin), encodeValue({ twin, fromSeq } satisfies ParkedTwin))
      .catch((err: unknown) => { throw unavailable('cannot park a twin', err); });
  }

  async unpark(id: string, twin: string): Promise<void> {
    await this.#kv.purge(parkedKey(id, twin)).catch((err: unknown) => { throw unavailable('cannot unpark a twin', err); });
  }

  /** The connector's parked twins. */
  async parked(id: string): Promise<ParkedTwin[]> {
    const keys = await listKeys(this.#kv, `p.${id}.>`, LIST_TIMEOUT_MS);
    const found: ParkedTwin[] = [];
    for (const k of keys) {
      const entry = await this.#kv.get(k).catch((err: unknown) => { throw unavailable('cannot read a parked twin', err); });
      if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) continue;
      const parsed = ParkedTwin.safeParse(decodeValue(entry.value));
      if (parsed.success) found.push(parsed.data);
    }
    return found;
  }

  /**
   * Recreates the connector's consumer from its ack floor (never below `startSeq` nor the last
   * published floor), so records a dead node held unacknowledged come again first, in stream
   * order, before anything later: per-twin order survives the takeover. Records acknowledged
   * above the floor come again too (at least once).
   */
  async restartConsumer(def: ClusterConnector, publishedFloor: number, window = MAX_ACK_PENDING): Promise<number> {
    const { jsm, names } = this.#c;
    const name = consumerName(def.id);
    const info = await jsm.consumers.info(names.stream, name).catch((err: unknown) => {
      if (isApiError(err, CONSUMER_NOT_FOUND)) return undefined;
      throw unavailable('cannot read a connector\'s consumer', err);
    });
    // A connector deleted meanwhile (on any node) must not get its consumer back.
    if ((await this.get(def.id))?.startSeq !== def.startSeq) throw unavailable('cannot restart a connector\'s consumer', new Error('the connector was deleted'));
    const start = Math.max(def.startSeq, publishedFloor + 1, (info?.ack_floor.stream_seq ?? 0) + 1);
    if (info !== undefined) await jsm.consumers.delete(names.stream, name);
    await jsm.consumers.add(names.stream, {
      durable_name: name, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start,
      filter_subject: `${names.twinSubjects}>`, max_ack_pending: window, ack_wait: ACK_WAIT_MS * 1_000_000,
    }).catch((err: unknown) => { throw unavailable('cannot create a connector\'s consumer', err); });
    return start;
  }

  /**
   * The lowest stream sequence some connector has not acknowledged (Infinity without connectors):
   * records from there on are still someone's outbox. A connector whose consumer is being
   * recreated counts from its published floor, which never passes its real one; a parked twin
   * from its `fromSeq`.
   */
  async retainFrom(): Promise<number> {
    let low = Infinity;
    for (const def of await this.list()) {
      const info = await this.#c.jsm.consumers.info(this.#c.names.stream, consumerName(def.id)).catch((err: unknown) => {
        if (isApiError(err, CONSUMER_NOT_FOUND)) return undefined;
        throw unavailable('cannot read a connector\'s consumer', err);
      });
      const floor = info?.ack_floor.stream_seq ?? Math.max(def.startSeq - 1, (await this.numbers(def.id))?.floor ?? 0);
      low = Math.min(low, floor + 1, ...(await this.parked(def.id)).map((p) => p.fromSeq));
    }
    return low;
  }

  /** The consumer's ack floor (0 when it does not exist). */
  async ackFloor(id: string): Promise<number> {
    const info = await this.#c.jsm.consumers.info(this.#c.names.stream, consumerName(id));
    return info.ack_floor.stream_seq;
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
