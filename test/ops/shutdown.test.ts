/**
 * SIGTERM ends the process within `--shutdown-seconds` even when a WebSocket peer never answers
 * the close frame: a raw TCP client completes the upgrade handshake, then neither reads nor
 * writes again. Without the deadline covering upgraded connections, Node's `ws` waits 30 s for
 * the peer's close frame. The bound asserted is generous (busy machine), yet far below 30 s.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';

const SHUTDOWN_SECONDS = 2;
/** Deadline plus slack for a loaded 2-core machine; `ws`'s own close timeout is 30 s. */
const BOUND_MS = 20_000;

/** Opens a WebSocket by hand and returns the socket once the server answered 101, then goes silent. */
function silentWebSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const key = randomBytes(16).toString('base64');
  socket.write([
    'GET /v1/ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', `Authorization: Bearer ${ADMIN}`, '', '',
  ].join('\r\n'));
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) { reject(new Error(`no upgrade: ${head}`)); return; }
      socket.pause(); // never reads the close frame, never answers it
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => { dir = await tempDir('doppel-shutdown-'); });
afterAll(async () => { await dir.remove(); });

describe('SIGTERM with an unresponsive WebSocket client', () => {
  it(`exits 0 within --shutdown-seconds ${SHUTDOWN_SECONDS} (bound ${BOUND_MS / 1000} s), not after the peer's 30 s`, async () => {
    const server = await startChildServer(dir.path, ['--shutdown-seconds', String(SHUTDOWN_SECONDS)]);
    const socket = await silentWebSocket(server.port);
    try {
      const sent = Date.now();
      const code = await Promise.race([
        server.kill('SIGTERM'),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), BOUND_MS)),
      ]);
      expect({ code, withinBound: Date.now() - sent < BOUND_MS }).toEqual({ code: 0, withinBound: true });
    } finally {
      socket.destroy();
      await server.kill('SIGKILL');
    }
  }, 60_000);
});
