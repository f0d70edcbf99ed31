/**
 * Shard leases in a JetStream KV bucket (`dpl_<ns>_leases`, key `s.<shard>`). JetStream 2.9 has no
 * per-key TTL, so a lease value carries its holder and expiry; the holder renews it every tick with
 * `kv.update(key, value, revision)` (per-key compare-and-set), and another node takes an expired
 * lease the same way, so two nodes can never both win the same revision.
 *
 * A node serves a shard only while its own lease on it has at least RENEW_MARGIN_MS left, so a node
 * that stops renewing (partitioned, paused) stops serving before anyone else may take over. The
 * twin store's fence catches whatever slips through (a commit from a stale copy fails).
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { Connected } from '../store/jetstream/index.ts';
import { preferredNode, SHARDS } from './shards.ts';

export const LEASE_TTL_MS = 4_000;
/** A holder stops serving a shard this long before its lease expires. */
const RENEW_MARGIN_MS = 1_000;

const LeaseValue = z.object({ holder: z.string(), instance: z.string(), expiresAt: z.number() });
type LeaseValue = z.infer<typeof LeaseValue>;
interface Lease extends LeaseValue { revision: number }

export interface LeaseEvents {
  /** This node now holds `shard`. */
  gained(shard: number): void;
  /** This node no longer holds `shard`: drop its actors. */
  lost(shard: number): void;
}

export class Leases {
  readonly #kv: KV;
  readonly #self: { id: string; instance: string };
  readonly #events: LeaseEvents;
  readonly #leases = new Map<number, Lease>();
  /** Shards this node holds, with the expiry of its own lease. */
  readonly #mine = new Map<number, number>();
  changes = 0;

  private constructor(kv: KV, self: { id: string; instance: string }, events: LeaseEvents) {
    this.#kv = kv;
    this.#self = self;
    this.#events = events;
  }

  static async open(c: Connected, namespace: string, replicas: number, self: { id: string; instance: string }, events: LeaseEvents): Promise<Leases> {
    const kv = await new Kvm(c.js).create(`dpl_${namespace}_leases`, { replicas, history: 1, allow_direct: false });
    return new Leases(kv, self, events);
  }

  /** True while this node holds `shard` with time to spare. */
  holds(shard: number): boolean {
    const until = this.#mine.get(shard);
    return until !== undefined && until - Date.now() > RENEW_MARGIN_MS;
  }

  /** The node holding `shard` now, as last read (undefined: none, or expired). */
  holderOf(shard: number): string | undefined {
    if (this.holds(shard)) return this.#self.id;
    const lease = this.#leases.get(shard);
    return lease !== undefined && lease.expiresAt > Date.now() ? lease.holder : undefined;
  }

  get owned(): number {
    let n = 0;
    for (const shard of this.#mine.keys()) if (this.holds(shard)) n++;
    return n;
  }

  /** Reads every lease, then renews, takes, or hands over shards so that each live node holds its share. */
  async tick(alive: readonly string[]): Promise<void> {
    await this.#readAll();
    const nodes = alive.includes(this.#self.id) ? alive : [...alive, this.#self.id];
    await Promise.all(Array.from({ length: SHARDS }, (_, shard) => this.#settle(shard, preferredNode(nodes, shard)!).catch(() => this.#lose(shard))));
  }

  async #readAll(): Promise<void> {
    const keys: string[] = [];
    for await (const k of await this.#kv.keys('s.>')) keys.push(k);
    await Promise.all(keys.map(async (k) => {
      const entry = await this.#kv.get(k);
      if (entry === null || entry.operation !== 'PUT') return;
      const parsed = LeaseValue.safeParse(JSON.parse(entry.string()));
      if (parsed.success) this.#leases.set(Number(k.slice(2)), { ...parsed.data, revision: entry.revision });
    }));
  }

  async #settle(shard: number, preferred: string): Promise<void> {
    const lease = this.#leases.get(shard);
    const now = Date.now();
    const mine = lease !== undefined && lease.holder === this.#self.id && lease.instance === this.#self.instance && this.#mine.has(shard);
    if (mine && preferred !== this.#self.id && lease.expiresAt > now) {
      // Hand over to the node that should hold it: stop serving first, then free the lease.
      this.#lose(shard);
      await this.#write(shard, { ...this.#self, holder: this.#self.id, expiresAt: 0 }, lease.revision);
      return;
    }
    if (mine) { await this.#take(shard, lease.revision); return; }
    const expired = lease === undefined || lease.expiresAt <= now;
    // A lease long expired is taken by anyone: its preferred node may be down without knowing it.
    const abandoned = lease !== undefined && lease.expiresAt <= now - 2 * LEASE_TTL_MS;
    if (this.#mine.has(shard)) this.#lose(shard);
    if (expired && (preferred === this.#self.id || abandoned)) await this.#take(shard, lease?.revision);
  }

  async #take(shard: number, revision: number | undefined): Promise<void> {
    const expiresAt = Date.now() + LEASE_TTL_MS;
    await this.#write(shard, { holder: this.#self.id, instance: this.#self.instance, expiresAt }, revision);
    const had = this.#mine.has(shard);
    this.#mine.set(shard, expiresAt);
    if (!had) { this.changes++; this.#events.gained(shard); }
  }

  async #write(shard: number, value: LeaseValue, revision: number | undefined): Promise<void> {
    const key = `s.${shard}`;
    const text = JSON.stringify(value);
    const written = revision === undefined ? await this.#kv.create(key, text) : await this.#kv.update(key, text, revision);
    this.#leases.set(shard, { ...value, revision: written });
  }

  #lose(shard: number): void {
    if (!this.#mine.delete(shard)) return;
    this.changes++;
    this.#events.lost(shard);
  }

  /** Frees this node's leases (graceful stop), so others take them at once. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#mine.keys()].map(async (shard) => {
      const lease = this.#leases.get(shard);
      this.#lose(shard);
      if (lease !== undefined) await this.#write(shard, { ...this.#self, holder: this.#self.id, expiresAt: 0 }, lease.revision).catch(() => undefined);
    }));
  }
}
