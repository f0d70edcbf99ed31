import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMergePatch } from '../../src/twin/index.ts';
import type { ChangeEvent, JsonObject } from '../../src/twin/types.ts';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';

const TWINS = 12;
const WRITERS = 8;
const CYCLES = 3;

interface Ack { twin: string; version: number; key: string; value: number }

const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

async function writeLoop(url: string, writer: number, acks: Ack[], stop: { now: boolean }): Promise<void> {
  let n = 0;
  while (!stop.now) {
    const twin = `crash-${(writer * 7 + n) % TWINS}`;
    const key = `w${writer}`;
    const value = ++n;
    try {
      const res = await fetch(`${url}/v1/twins/${twin}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ desired: { [key]: value } }) });
      if (res.status === 200) {
        const body = await res.json() as { version: number };
        acks.push({ twin, version: body.version, key, value });
      }
    } catch {
      return; // the server died mid-request: that write was never acknowledged
    }
  }
}

async function allHistory(url: string, twin: string): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  let since = 0;
  for (;;) {
    const res = await fetch(`${url}/v1/twins/${twin}/history?since=${since}&limit=1000`, { headers: auth });
    const page = await res.json() as { items: ChangeEvent[]; next: number | null };
    events.push(...page.items);
    if (page.next === null) return events;
    since = page.next;
  }
}

describe('kill -9 during concurrent writes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;

  beforeAll(async () => { dir = await tempDir('doppel-crash-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  it('loses no acknowledged write and keeps every twin consistent, across several crashes', async () => {
    server = await startChildServer(dir.path);
    for (let i = 0; i < TWINS; i++) {
      const res = await fetch(`${server.url}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id: `crash-${i}` }) });
      expect(res.status).toBe(201);
    }
    const acks: Ack[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const stop = { now: false };
      const loops = Array.from({ length: WRITERS }, (_, w) => writeLoop(server!.url, w + cycle * WRITERS, acks, stop));
      // Let writes pile up, then kill at a moment that varies from cycle to cycle.
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 400)));
      await server.kill('SIGKILL');
      stop.now = true;
      await Promise.all(loops);
      server = await startChildServer(dir.path);
    }
    expect(acks.length).toBeGreaterThan(50);

    const latest = new Map<string, Ack>();
    for (const ack of acks) {
      const prev = latest.get(`${ack.twin}/${ack.key}`);
      if (prev === undefined || ack.version > prev.version) latest.set(`${ack.twin}/${ack.key}`, ack);
    }
    for (let i = 0; i < TWINS; i++) {
      const twin = `crash-${i}`;
      const state = await (await fetch(`${server.url}/v1/twins/${twin}`, { headers: auth })).json() as { version: number; desired: JsonObject };
      const events = await allHistory(server.url, twin);
      // Versions are contiguous from 1 to the current one.
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: state.version }, (_, k) => k + 1));
      // The history replays to exactly the stored state.
      let desired: JsonObject = {};
      for (const e of events) if (e.patch.desired !== undefined) desired = applyMergePatch(desired, e.patch.desired).value;
      expect(desired).toEqual(state.desired);
      // Every acknowledged write is there: its event exists with its value.
      for (const ack of acks.filter((a) => a.twin === twin)) {
        expect(events[ack.version - 1]?.patch.desired).toEqual({ [ack.key]: ack.value });
      }
    }
    // And the newest acknowledged value of each key survived (no later write overwrote it on disk).
    for (const ack of latest.values()) {
      const state = await (await fetch(`${server.url}/v1/twins/${ack.twin}`, { headers: auth })).json() as { desired: JsonObject };
      expect(typeof state.desired[ack.key]).toBe('number');
      expect(state.desired[ack.key] as number).toBeGreaterThanOrEqual(ack.value);
    }
  });
});
