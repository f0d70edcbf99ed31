/**
 * A minimal V8 inspector client, so a memory benchmark can measure a server process after a full
 * garbage collection rather than with whatever garbage it happens to hold. The server is the
 * ordinary one, started with `NODE_OPTIONS` from `inspectorEnv` (no code of its own changes);
 * nothing is enabled on the session beyond the two calls made.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import WebSocket from 'ws';

export interface Inspector {
  /** Runs a full GC, then reads the V8 heap in use (bytes). */
  heapAfterGc(): Promise<number>;
  close(): void;
}

/** A free loopback port and the environment that opens the inspector on it (its URL not printed). */
export async function inspectorEnv(): Promise<{ port: number; env: Record<string, string> }> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return { port, env: { NODE_OPTIONS: `--inspect=127.0.0.1:${port} --inspect-publish-uid=http` } };
}

export async function connectInspector(port: number): Promise<Inspector> {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>;
  if (target === undefined) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await once(ws, 'open');
  const calls = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 0;
  ws.on('message', (data) => {
    const reply = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const call = reply.id === undefined ? undefined : calls.get(reply.id);
    if (call === undefined) return;
    calls.delete(reply.id!);
    if (reply.error) call.reject(new Error(reply.error.message));
    else call.resolve(reply.result);
  });
  const call = <T>(method: string): Promise<T> => new Promise((resolve, reject) => {
    const id = ++nextId;
    calls.set(id, { resolve: resolve as (result: unknown) => void, reject });
    ws.send(JSON.stringify({ id, method }));
  });
  return {
    async heapAfterGc() {
      await call('HeapProfiler.collectGarbage');
      return (await call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
    },
    close() { ws.close(); },
  };
}
