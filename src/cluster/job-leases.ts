/**
 * Fleet job leases (key `j.<job id>` in the lease bucket, lease-bucket.ts): exactly one node runs a
 * job at a time. A node takes a job's lease when it creates the job, or when it finds the lease
 * free or expired (its runner stopped or died); the runner renews it every tick and frees it when
 * its loop stops. Any node may take an expired lease: the first compare-and-set wins.
 *
 * The lease keeps runners from overlapping; it is not what makes a job exactly-once. That is the
 * done-mark in the twin record, checked after the twin is read and written with an `ifVersion`
 * patch (actors/job-twin.ts), so even a runner that woke up after losing its lease cannot apply a
 * job twice to one twin.
 */
import { isExpired, isHeldBy, serves } from './lease-bucket.ts';
import type { Lease, LeaseBucket, LeaseHolder } from './lease-bucket.ts';
import type { JobLeases as JobLeaseSeam } from '../../actors/job-service.ts';

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
}
