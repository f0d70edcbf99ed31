/**
 * Leases in a JetStream KV bucket (`dpl_<ns>_leases`): the primitive that shard leases (leases.ts,
 * keys `s.<shard>`) and fleet job leases (job-leases.ts, keys `j.<job id>`) share. JetStream 2.9
 * has no per-key TTL, so a lease value carries its holder and expiry; every write names the
 * revision it read (`kv.update`, per-key compare-and-set; `kv.create` for a lease never written),
 * so two nodes can never both win the same revision.
 *
 * A holder serves only while its lease has more than RENEW_MARGIN_MS left (`serves`), so a node
 * that stops renewing (partitioned, paused) stops serving before anyone else may take over.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { Connected } from '../store/jetstream/index.ts';
import { listKeys } from '../store/jetstream/kv-keys.ts';

export const LEASE_TTL_MS = 4_000;
/** A holder stops serving this long before its lease expires. */
export const RENEW_MARGIN_MS = 1_000;

const LeaseValue = z.object({ holder: z.string(), instance: z.string(), expiresAt: z.number() });
export type LeaseValue = z.infer<typeof LeaseValue>;
export interface Lease extends LeaseValue { revision: number }

/** A node process: its id, and the instance that tells a restarted process from its predecessor. */
export interface LeaseHolder { id: string; instance: string }

export const isHeldBy = (lease: Lease, self: LeaseHolder): boolean => lease.holder === self.id && lease.instance === self.instance;
export const isExpired = (lease: Lease | undefined, now: number): boolean => lease === undefined || lease.expiresAt <= now;
/** Whether a holder whose lease runs until `expiresAt` may still act on it. */
export const serves = (expiresAt: number | undefined, now: number): boolean => expiresAt !== undefined && expiresAt - now > RENEW_MARGIN_MS;

export class LeaseBucket {
  readonly #kv: KV;
  readonly #timeoutMs: number;

  private constructor(kv: KV, timeoutMs: number) {
    this.#kv = kv;
    this.#timeoutMs = timeoutMs;
  }

  /** `timeoutMs` bounds a key listing (`readAll`); a listing slower than a lease's TTL is of no use anyway. */
  static async open(c: Connected, namespace: string, replicas: number, timeoutMs = LEASE_TTL_MS): Promise<LeaseBucket> {
    return new LeaseBucket(await new Kvm(c.js).create(`dpl_${namespace}_leases`, { replicas, history: 1, allow_direct: false }), timeoutMs);
  }

  /** Every lease whose key matches `filter` (e.g. `s.>`), by key. */
  async readAll(filter: string): Promise<Map<string, Lease>> {
    const keys = await listKeys(this.#kv, filter, this.#timeoutMs);
    const out = new Map<string, Lease>();
    await Promise.all(keys.map(async (k) => {
      const lease = await this.read(k);
      if (lease !== undefined) out.set(k, lease);
    }));
    return out;
  }

  async read(key: string): Promise<Lease | undefined> {
    const entry = await this.#kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    // A malformed value (not JSON, or not a lease) holds nothing: read as a lease that expired
    // long ago, not thrown, so the next taker overwrites it at its revision.
    let value: unknown;
    try { value = JSON.parse(entry.string()); } catch { value = undefined; }
    const parsed = LeaseValue.safeParse(value);
    return { ...(parsed.success ? parsed.data : { holder: '', instance: '', expiresAt: 0 }), revision: entry.revision };
  }

  /** Deletes the key for good (a job lease once its job record is gone). */
  async remove(key: string): Promise<void> {
    await this.#kv.purge(key);
  }

  /** Writes `value` if the key is still at `revision` (undefined: never written); throws when another write came first. */
  async write(key: string, value: LeaseValue, revision: number | undefined): Promise<Lease> {
    const text = JSON.stringify(value);
    const written = revision === undefined ? await this.#kv.create(key, text) : await this.#kv.update(key, text, revision);
    return { ...value, revision: written };
  }

  /** Takes (or renews) the lease for `self`, LEASE_TTL_MS from now. */
  take(key: string, self: LeaseHolder, revision: number | undefined): Promise<Lease> {
    return this.write(key, { holder: self.id, instance: self.instance, expiresAt: Date.now() + LEASE_TTL_MS }, revision);
  }

  /** Frees the lease (expired at once), so another node takes it on its next try. */
  free(key: string, self: LeaseHolder, revision: number): Promise<Lease> {
    return this.write(key, { holder: self.id, instance: self.instance, expiresAt: 0 }, revision);
  }
}
