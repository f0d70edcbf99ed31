/**
 * Seeding for the benchmarks, through the real HTTP API: `n` twins `<prefix><i>` with a desired
 * state, and (for device scenarios) a device token for each.
 */
import { runLoad } from './http-load.ts';
import { BENCH_ADMIN } from './server-process.ts';

export async function seedTwins(httpPort: number, n: number, prefix: string): Promise<void> {
  const seeded = await runLoad({
    port: httpPort, concurrency: 16, seconds: 600, maxRequests: n,
    request: (i) => {
      const body = `{"id":"${prefix}${i}","desired":{"temp":21,"mode":"eco"},"tags":{"site":"berlin"}}`;
      return `POST /v1/twins HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    },
  });
  if (seeded.errors > 0) throw new Error(`seeding: ${seeded.errors} creates refused`);
}

/** Twins plus one device token each, in index order. */
export async function seedDevices(httpPort: number, n: number, prefix: string): Promise<string[]> {
  await seedTwins(httpPort, n, prefix);
  const tokens = new Array<string>(n);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(`http://127.0.0.1:${httpPort}/v1/twins/${prefix}${i}/token`, { method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN}` } });
      if (res.status !== 201 && res.status !== 200) throw new Error(`token ${prefix}${i}: ${res.status}`);
      tokens[i] = ((await res.json()) as { token: string }).token;
    }
  }));
  return tokens;
}
