/**
 * Fleet job leases (key `j.<job id>` in the lease bucket, lease-bucket.ts): exactly one node runs a
 * job at a time. A node takes a job's lease when it creates the job, or when it finds the lease
 * free or expired (its runner stopped or died); the runner renews it every tick and frees it when
 * its loop stops. Any node may take an expired lease: the first compare-and-set wins.
 *
 * Exactly-once per twin rests on two things. The done-mark in the twin record, checked after the
 * twin is read and written with an `ifVersion` patch (actors/job-twin.ts), covers everything
 * while the job runs: a change by an earlier runner shows as a mark or as a moved version. Once a
 * job ends its marks are deleted, and from then on only the lease margin protects: a runner checks
 * that it still holds the lease (more than RENEW_MARGIN_MS left) before each attempt on a twin, so a
 * stalled runner stops before its lease can expire and the job can end elsewhere — unless it stalls
 * for longer than that margin between its check and its write (a pause of over a second inside
 * one patch), which this design does not cover.
 */
import { isExpired, isHeldBy, serves } from './lease-bucket.ts';
import type { Lease, LeaseBucket, LeaseHolder } from './lease-bucket.ts';
import type { JobLeases as JobLeaseSeam } from '../job/leases.ts';

const keyOf = (job: string): string => `j.${job}`;

export class JobLeases implements JobLeaseSeam {
  readonly #bucket: LeaseBucket;
  readonly #self: LeaseHolder;
  /** The leases this node holds, as last written. */
  readonly #mine = new Map<string, Lease>();

  constructor(bucket: LeaseBucket, self: LeaseHolder) {
    this.#bucket = bucket;
    this.#self = self;
  }

  async acquire(job: string): Promise<boolean> {
    try {
      const mine = this.#mine.get(job);
      const lease = mine ?? await this.#bucket.read(keyOf(job));
      if (lease !== undefined && !isHeldBy(lease, this.#self) && !isExpired(lease, Date.now())) return false;
      this.#mine.set(job, await this.#bucket.take(keyOf(job), this.#self, lease?.revision));
      return true;
    } catch {
      // A lost compare-and-set (another node took the expired lease) or NATS failing now: the
      // lease as held so far decides, and it runs out by itself.
      if (!this.holds(job)) this.#mine.delete(job);
      return this.holds(job);
    }
  }

  holds(job: string): boolean { return serves(this.#mine.get(job)?.expiresAt, Date.now()); }

  async release(job: string): Promise<void> {
    const mine = this.#mine.get(job);
    this.#mine.delete(job);
    if (mine !== undefined) await this.#bucket.free(keyOf(job), this.#self, mine.revision).catch(() => undefined);
  }

  async forget(job: string): Promise<void> {
    this.#mine.delete(job);
    await this.#bucket.remove(keyOf(job));
  }
}
