import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { attachWebSocket, textFrame } from './node-websocket.ts';
import type { WsConnection } from './types.ts';

describe('textFrame', () => {
  it('frames a text per RFC 6455 §5.2 with the 7-bit, 16-bit and 64-bit lengths', () => {
    expect([...textFrame('hi')]).toEqual([0x81, 2, 0x68, 0x69]);
    const mid = textFrame('é'.repeat(100)); // 200 bytes of UTF-8
    expect([mid[0], mid[1], mid.readUInt16BE(2), mid.length]).toEqual([0x81, 126, 200, 204]);
    const big = textFrame('x'.repeat(70_000));
    expect([big[0], big[1], Number(big.readBigUInt64BE(2)), big.length]).toEqual([0x81, 127, 70_000, 70_010]);
  });
});

describe('attachWebSocket send', () => {
  it('delivers texts of every length class intact and in order, the same text to several peers', async () => {
    const server = createServer();
    const connections: WsConnection[] = [];
    const ws = attachWebSocket(server, {
      path: '/ws', maxPayload: 1 << 20, heartbeatMs: 60_000,
      accept: async () => (connection: WsConnection) => { connections.push(connection); },
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    const clients = [new WebSocket(url), new WebSocket(url)];
    try {
      const received = clients.map((c) => { const got: string[] = []; c.on('message', (d) => got.push(String(d))); return got; });
      await Promise.all(clients.map((c) => once(c, 'open')));
      while (connections.length < 2) await new Promise((r) => setTimeout(r, 10));
      const texts = ['a', 'ü'.repeat(70), 'b'.repeat(300), 'c'.repeat(70_000), 'a'];
      for (const text of texts) for (const connection of connections) connection.send(text);
      while (received.some((got) => got.length < texts.length)) await new Promise((r) => setTimeout(r, 10));
      expect(received).toEqual([texts, texts]);
    } finally {
      for (const c of clients) c.terminate();
      ws.terminate();
      ws.close();
      await new Promise((r) => server.close(r));
    }
  });
});
