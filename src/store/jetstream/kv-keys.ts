/**
 * Listing a KV bucket's keys with a deadline. The client's key listing is a consumer with no
 * timeout of its own: with NATS stalled it would wait forever, and everything awaiting it (a
 * job tick, a lease beat, a shutdown) with it.
 */
import type { KV } from '@nats-io/kv';
import { fail } from '../../errors.ts';
import { unavailable } from './connection.ts';

export async function listKeys(kv: KV, filter: string, timeoutMs: number): Promise<string[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { stop?.(); reject(fail('unavailable', `Storage unavailable: listing keys ${filter} took over ${timeoutMs} ms`)); }, timeoutMs);
  });
  const collect = async (): Promise<string[]> => {
    const iterator = await kv.keys(filter);
    stop = () => iterator.stop();
    // A set: the listing is a consumer of each key's last value, and a key written while it runs
    // (a node's heartbeat, a lease renewal) arrives a second time, as its newer value.
    const keys = new Set<string>();
    for await (const key of iterator) keys.add(key);
    return [...keys];
  };
  try {
    return await Promise.race([collect().catch((err: unknown) => { throw unavailable(`cannot list keys ${filter}`, err); }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
