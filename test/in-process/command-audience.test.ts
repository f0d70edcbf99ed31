/**
 * Command events reach only the app sessions following the twin: many WebSocket app sessions, each
 * following one twin (by id or by prefix), and a change of one twin's commands is offered to the
 * one session following it (plus the metrics), not to every session. Counting the listeners a
 * change reaches takes the in-process command service, hence this folder (Node only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect } from '../ws/helpers.ts';
import type { Client } from '../ws/helpers.ts';
import { queue, twinWithToken } from '../commands/helpers.ts';

const SESSIONS = 20;
let t: TestServer;
const clients: Client[] = [];
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

describe('command event audience', () => {
  it('a change is offered to the sessions following its twin, not to every app session', async () => {
    for (let i = 0; i < SESSIONS; i++) {
      await twinWithToken(t, `aud-${i}`);
      const app = await connect(t);
      clients.push(app);
      // Even sessions follow their twin by id, odd ones by a prefix only that twin has.
      expect(await app.request(i % 2 === 0 ? { op: 'subscribe', twins: [`aud-${i}`] } : { op: 'subscribe', prefix: `aud-${i}` })).toMatchObject({ op: 'subscribed' });
    }
    const commands = t.local!.twins.commands;
    // aud-1's prefix covers aud-1x too; aud-3 is followed by aud-3 alone. Plus the metrics listener.
    expect(commands.audience('aud-3')).toBe(2);
    expect(commands.audience('aud-12')).toBe(3); // its own session, and aud-1's prefix
    expect(commands.audience('other')).toBe(1);
    const cmd = await queue(t, 'aud-3', { name: 'x', ttlSeconds: 60 });
    expect(await clients[3]!.next((m) => m.op === 'command')).toMatchObject({ twin: 'aud-3', command: { id: cmd.id } });
    // Unsubscribing and closing remove the listeners.
    await clients[4]!.request({ op: 'unsubscribe', twins: ['aud-4'] });
    expect(commands.audience('aud-4')).toBe(1);
    clients[3]!.close();
    await clients[3]!.closed;
    const deadline = Date.now() + 10_000;
    while (commands.audience('aud-3') !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(commands.audience('aud-3')).toBe(1);
  });
});
