/**
 * Shard leases (key `s.<shard>` in the lease bucket, lease-bucket.ts): the holder renews its
 * lease every tick, another node takes an expired one, each by compare-and-set on the revision it
 * read, so two nodes can never both win the same revision.
 *
 * A node serves a shard only while its own lease on it has more than RENEW_MARGIN_MS left, so a
 * node that stops renewing (partitioned, paused) stops serving before anyone else may take over.
 * The twin store's fence catches whatever slips through (a commit from a stale copy fails).
 */
import { isExpired, isHeldBy, LEASE_TTL_MS, serves } from './lease-bucket.ts';
import type { Lease, LeaseBucket, LeaseHolder } from './lease-bucket.ts';
import { preferredNode, SHARDS } from './shards.ts';

export interface LeaseEvents {
  /** This node now holds `shard`. */
  gained(shard: number): void;
  /** This node no longer holds `shard`: drop its actors. */
  lost(shard: number): void;
}

export class Leases {
  readonly #bucket: LeaseBucket;
  readonly #self: LeaseHolder;
  readonly #events: LeaseEvents;
  readonly #leases = new Map<number, Lease>();
  /** Shards this node holds, with the expiry of its own lease. */
  readonly #mine = new Map<number, number>();
  changes = 0;

  constructor(bucket: LeaseBucket, self: LeaseHolder, events: LeaseEvents) {
    this.#bucket = bucket;
    this.#self = self;
    this.#events = events;
  }

  /** True while this node holds `shard` with time to spare. */
  holds(shard: number): boolean {
    return serves(this.#mine.get(shard), Date.now());
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
    for (const [k, lease] of await this.#bucket.readAll('s.>')) this.#leases.set(Number(k.slice(2)), lease);
  }

  async #settle(shard: number, preferred: string): Promise<void> {
    const lease = this.#leases.get(shard);
    const now = Date.now();
    const mine = lease !== undefined && isHeldBy(lease, this.#self) && this.#mine.has(shard);
    if (mine && preferred !== this.#self.id && lease.expiresAt > now) {
      // Hand over to the node that should hold it: stop serving first, then free the lease.
      this.#lose(shard);
      this.#leases.set(shard, await this.#bucket.free(`s.${shard}`, this.#self, lease.revision));
      return;
    }
    if (mine) { await this.#take(shard, lease.revision); return; }
    const expired = isExpired(lease, now);
    // A lease long expired is taken by anyone: its preferred node may be down without knowing it.
    const abandoned = lease !== undefined && lease.expiresAt <= now - 2 * LEASE_TTL_MS;
    if (this.#mine.has(shard)) this.#lose(shard);
    if (expired && (preferred === this.#self.id || abandoned)) await this.#take(shard, lease?.revision);
  }

  async #take(shard: number, revision: number | undefined): Promise<void> {
    const lease = await this.#bucket.take(`s.${shard}`, this.#self, revision);
    this.#leases.set(shard, lease);
    const had = this.#mine.has(shard);
    this.#mine.set(shard, lease.expiresAt);
    if (!had) { this.changes++; this.#events.gained(shard); }
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
      if (lease !== undefined) await this.#bucket.free(`s.${shard}`, this.#self, lease.revision).catch(() => undefined);
    }));
  }
}
