/**
 * Crash safety: mixed load (HTTP and WebSocket patches of desired, CoAP reports from devices)
 * over many twins against a real server process, killed with SIGKILL at a random moment, again and
 * again. After every restart LevelDB must open (the server starts); at the end every acknowledged
 * write must be in history at its version, versions contiguous, history replaying to the state.
 * `DOPPEL_CRASH_CYCLES` sets the number of kills (20 here; `npm run test:faults` runs 100).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { newOutcomes, seedFleet, startMixedLoad, verifyDurability } from './mixed-load.ts';

const CYCLES = Number(process.env.DOPPEL_CRASH_CYCLES ?? 20);
const TWINS = 24;
// Keep every event: the check replays each twin's whole history.
const FLAGS = ['--history-retention', '1000000'];

describe('kill -9 under mixed HTTP, WebSocket and CoAP load', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;

  beforeAll(async () => { dir = await tempDir('doppel-crash-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  it(`loses no acknowledged write and keeps every twin consistent across ${CYCLES} crashes`, async () => {
    server = await startChildServer(dir.path, FLAGS);
    const fleet = await seedFleet(server.url, TWINS);
    const out = newOutcomes();
    const killedAfterMs: number[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const load = startMixedLoad({ url: server.url, coapPort: server.coapPort }, fleet, { http: 3, ws: 2, coap: 3 }, String(cycle), out);
      const delay = 150 + Math.floor(Math.random() * 450);
      killedAfterMs.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      await server.kill('SIGKILL');
      await load.stop();
      server = await startChildServer(dir.path, FLAGS); // LevelDB must open after every crash
    }
    const failures = await verifyDurability(server.url, fleet, out.acks);
    expect(failures, `kills after ${killedAfterMs.join(', ')} ms`).toEqual([]);
    expect(out.unexpected).toEqual([]);
    // The load really ran on every edge (else the check above proves little).
    for (const via of ['http', 'ws', 'coap'] as const) expect(out.acks.filter((a) => a.via === via).length).toBeGreaterThan(CYCLES);
  }, 60_000 + CYCLES * 5_000);
});
