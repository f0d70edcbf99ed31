/**
 * The cluster's live nodes, in a JetStream KV bucket (`dpl_<ns>_nodes`): each node puts its entry
 * on a heartbeat. JetStream 2.9 has no per-key TTL, so an entry carries its own expiry: a node is
 * alive while its last heartbeat's `expiresAt` is in the future (clocks are assumed within a
 * second or two of each other, as NTP keeps them).
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { DoppelError } from '../errors.ts';
import type { Connected } from '../store/jetstream/index.ts';
import { listKeys } from '../store/jetstream/kv-keys.ts';

export const HEARTBEAT_MS = 1_000;
/** A node missing this many heartbeats in a row counts as dead. */
export const NODE_TTL_MS = 5 * HEARTBEAT_MS;

const NodeEntry = z.object({
  id: z.string(), url: z.string().optional(), instance: z.string(),
  expiresAt: z.number(), twinsOwned: z.number().int().min(0),
});
export type NodeEntry = z.infer<typeof NodeEntry>;

export interface NodeStatus { id: string; url?: string; alive: boolean; twinsOwned: number }

/** `GET /v1/cluster` answers `unavailable` after this long rather than wait on a stalled NATS. */
const LIST_TIMEOUT_MS = 4_000;

export class NodeRegistry {
  readonly #kv: KV;
  readonly #self: () => { id: string; url?: string; instance: string };

  private constructor(kv: KV, self: () => { id: string; url?: string; instance: string }) {
    this.#kv = kv;
    this.#self = self;
  }

  static async open(c: Connected, namespace: string, replicas: number, self: () => { id: string; url?: string; instance: string }): Promise<NodeRegistry> {
    const kv = await new Kvm(c.js).create(`dpl_${namespace}_nodes`, { replicas, history: 1, allow_direct: false });
    return new NodeRegistry(kv, self);
  }

  /**
   * Announces this node; refuses (invalid_request) when another live process already uses its
   * id, since two nodes with one id would each take the other's leases for its own.
   */
  async join(twinsOwned: number): Promise<void> {
    const self = this.#self();
    const current = await this.#read(self.id);
    if (current !== undefined && current.instance !== self.instance && current.expiresAt > Date.now()) {
      throw new DoppelError('invalid_request', `Invalid --node-id ${self.id}: a live node already uses it${current.url === undefined ? '' : ` (${current.url})`}; give each node its own id, or wait ${Math.ceil(NODE_TTL_MS / 1000)} s after stopping the old one`);
    }
    await this.heartbeat(twinsOwned);
  }

  async heartbeat(twinsOwned: number): Promise<void> {
    const self = this.#self();
    const entry: NodeEntry = { ...self, expiresAt: Date.now() + NODE_TTL_MS, twinsOwned };
    await this.#kv.put(key(self.id), JSON.stringify(entry));
  }

  /** Marks this node gone at once (a graceful stop), so others need not wait for its expiry. */
  async leave(): Promise<void> {
    const self = this.#self();
    const entry: NodeEntry = { ...self, expiresAt: 0, twinsOwned: 0 };
    await this.#kv.put(key(self.id), JSON.stringify(entry));
  }

  async list(): Promise<NodeStatus[]> {
    const keys = await listKeys(this.#kv, 'n.>', LIST_TIMEOUT_MS);
    const entries = await Promise.all(keys.map((k) => this.#read(k.slice(2))));
    const now = Date.now();
    return entries.filter((e): e is NodeEntry => e !== undefined)
      .map((e) => ({ id: e.id, ...(e.url === undefined ? {} : { url: e.url }), alive: e.expiresAt > now, twinsOwned: e.expiresAt > now ? e.twinsOwned : 0 }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async #read(id: string): Promise<NodeEntry | undefined> {
    const entry = await this.#kv.get(key(id));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const parsed = NodeEntry.safeParse(JSON.parse(entry.string()));
    return parsed.success ? parsed.data : undefined;
  }
}

const key = (id: string) => `n.${id}`;
