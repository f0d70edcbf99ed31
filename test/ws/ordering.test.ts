/**
 * Ordering under concurrency (CONTRACT §2, §7): several writers over HTTP and WebSocket patch the
 * same twins while subscribers join before and during the writes, by id, by prefix and by both.
 * Every subscriber sees, per twin, one snapshot and then every later version exactly once, in
 * order, up to the final version.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createTwin, getTwin, patchTwin } from './helpers.ts';
import type { Client, Msg } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (): Promise<Client> => { const c = await connect(t); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

const TWINS = ['ord:1', 'ord:2', 'ord:3'];
const WRITES_PER_WRITER = 40;

/** Per twin: the versions a client received, a snapshot's version first. Fails on a duplicate, a gap or a change before any snapshot. */
function streams(received: readonly Msg[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of received) {
    if (m.op === 'snapshot') {
      const { id, version } = m.twin as { id: string; version: number };
      expect(out.has(id), `a second snapshot of ${id}`).toBe(false);
      out.set(id, [version]);
    } else if (m.op === 'change') {
      const { twin, version } = m.event as { twin: string; version: number };
      const versions = out.get(twin);
      expect(versions, `a change of ${twin} before its snapshot`).toBeDefined();
      expect(version, `the version after ${versions!.at(-1)} of ${twin}`).toBe(versions!.at(-1)! + 1);
      versions!.push(version);
    }
  }
  return out;
}

const reached = (c: Client, twin: string, version: number) => () =>
  c.received.some((m) => (m.op === 'change' && (m.event as { twin: string; version: number }).twin === twin && (m.event as { version: number }).version === version)
    || (m.op === 'snapshot' && (m.twin as { id: string; version: number }).id === twin && (m.twin as { version: number }).version === version));

describe('ordering under concurrent writers', () => {
  it('every subscriber sees every version exactly once and in order', async () => {
    for (const id of TWINS) await createTwin(t, id, { desired: { n: 0 } });
    const early = [await open(), await open(), await open()];
    await early[0]!.request({ op: 'subscribe', twins: TWINS });
    await early[1]!.request({ op: 'subscribe', prefix: 'ord:' });
    await early[2]!.request({ op: 'subscribe', twins: TWINS.slice(0, 2) });
    await early[2]!.request({ op: 'subscribe', prefix: 'ord' });

    const wsWriters = [await open(), await open()];
    const pick = (i: number) => TWINS[i % TWINS.length]!;
    const httpWriter = (w: number) => (async () => {
      for (let i = 0; i < WRITES_PER_WRITER; i++) await patchTwin(t, pick(i + w), { desired: { [`h${w}`]: i } });
    })();
    const wsWriter = (c: Client, w: number) => (async () => {
      for (let i = 0; i < WRITES_PER_WRITER; i++) {
        const reply = await c.request({ op: 'patch', twin: pick(i + w), desired: { [`w${w}`]: i } });
        expect(reply.op).toBe('ok');
      }
    })();
    const late: Client[] = [];
    const joiners = (async () => {
      // Subscribers joining while the writes run race their subscription with the changes.
      for (let j = 0; j < 4; j++) {
        const c = await open();
        late.push(c);
        await c.request(j % 2 === 0 ? { op: 'subscribe', twins: TWINS } : { op: 'subscribe', prefix: 'ord:' });
        if (j === 3) await c.request({ op: 'subscribe', twins: ['ord:2'] });
      }
    })();
    await Promise.all([httpWriter(0), httpWriter(1), wsWriter(wsWriters[0]!, 2), wsWriter(wsWriters[1]!, 3), joiners]);

    const finals = new Map<string, number>();
    for (const id of TWINS) finals.set(id, (await getTwin(t, id)).version);
    expect([...finals.values()].reduce((a, b) => a + b)).toBe(TWINS.length + 4 * WRITES_PER_WRITER);
    for (const c of [...early, ...late]) {
      for (const [id, version] of finals) {
        const deadline = Date.now() + 10_000;
        while (!reached(c, id, version)()) {
          if (Date.now() > deadline) throw new Error(`a subscriber never reached version ${version} of ${id}`);
          await c.next(() => true, 10_000).catch(() => undefined);
        }
      }
      const seen = streams(c.received);
      for (const [id, version] of finals) expect(seen.get(id)!.at(-1), id).toBe(version);
    }
    // The subscribers from before the writes saw all of them.
    for (const c of early) for (const id of TWINS) expect(streams(c.received).get(id)![0]).toBe(1);
  });
});
