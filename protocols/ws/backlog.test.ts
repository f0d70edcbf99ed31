import { describe, it, expect } from 'vitest';
import type { WsConnection } from '../../src/runtime/types.ts';
import { Outbox } from './backlog.ts';

function fakeConnection(): WsConnection & { sent: string[]; closedWith: [number, string] | null; buffered: number } {
  const c = {
    sent: [] as string[], closedWith: null as [number, string] | null, buffered: 0,
    send(text: string) { c.sent.push(text); },
    close(code: number, reason: string) { c.closedWith = [code, reason]; },
    get bufferedAmount() { return c.buffered; },
    onMessage() {},
    onClose() {},
  };
  return c;
}

describe('Outbox', () => {
  it('sends while the backlog is within the bound', () => {
    const conn = fakeConnection();
    const out = new Outbox(conn, 100, () => {});
    conn.buffered = 100;
    expect(out.send('a')).toBe(true);
    expect(conn.sent).toEqual(['a']);
  });

  it('closes with 4008 slow_consumer once the backlog is over the bound, and sends nothing more', () => {
    const conn = fakeConnection();
    let slow = 0;
    const out = new Outbox(conn, 100, () => { slow++; });
    conn.buffered = 101;
    expect(out.send('a')).toBe(false);
    conn.buffered = 0;
    expect(out.send('b')).toBe(false);
    expect(conn.sent).toEqual([]);
    expect(conn.closedWith).toEqual([4008, 'slow_consumer']);
    expect(slow).toBe(1);
  });

  it('room() waits until the backlog drained to half the bound', async () => {
    const conn = fakeConnection();
    const out = new Outbox(conn, 100, () => {});
    conn.buffered = 80;
    let ready = false;
    const waiting = out.room().then(() => { ready = true; });
    await new Promise((r) => setTimeout(r, 30));
    expect(ready).toBe(false);
    conn.buffered = 50;
    await waiting;
    expect(ready).toBe(true);
  });
});
