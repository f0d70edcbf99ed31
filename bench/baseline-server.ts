// The bare servers our HTTP and WebSocket paths are measured against, over the same adapter:
// hono routes answering the same JSON as a twin GET/PATCH/POST, and a bare `ws` server (no
// persistence, no ordering, no backpressure) broadcasting each PATCH as a change frame of the same
// shape to the connections that asked for that twin. Prints {"msg":"listening","http":port} like doppel.
import { createAdaptorServer } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Hono } from 'hono';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

// Shaped like a twin the bench seeds (desired {temp, mode}, tags, nothing reported yet), so both
// servers answer a document of the same size (473 bytes for "bench-0").
const at = new Date().toISOString();
const twin = {
  id: 'bench-0', version: 1, desired: { temp: 21, mode: 'eco' }, reported: {}, delta: { temp: 21, mode: 'eco' }, tags: { site: 'berlin' },
  metadata: { desired: { temp: { updatedAt: at }, mode: { updatedAt: at } }, reported: {} },
  sync: { inSync: false, pendingSince: at }, connection: { online: false, via: null, lastSeenAt: null },
  createdAt: at, updatedAt: at,
};

// The WebSocket side: who follows which twin (by id or by prefix), and each twin's version.
const versions = new Map<string, number>();
const byId = new Map<string, Set<WebSocket>>();
const byPrefix: { prefix: string; ws: WebSocket }[] = [];

function broadcast(id: string, version: number, desired: unknown): void {
  // Encoded once and sent as is to every follower, as the `ws` README broadcasts.
  const event = { twin: id, version, at: new Date().toISOString(), via: 'http', patch: { desired } };
  const frame = Buffer.from(`{"op":"change","event":${JSON.stringify(event)}}`);
  for (const ws of byId.get(id) ?? []) ws.send(frame, { binary: false });
  for (const p of byPrefix) if (id.startsWith(p.prefix)) p.ws.send(frame, { binary: false });
}

function subscribe(ws: WebSocket, text: string): void {
  const m = JSON.parse(text) as { op: string; ref?: string; twins?: string[]; prefix?: string };
  if (m.op !== 'subscribe') return;
  const ids = m.twins ?? [...versions.keys()].filter((id) => id.startsWith(m.prefix!));
  if (m.prefix !== undefined) byPrefix.push({ prefix: m.prefix, ws });
  else for (const id of ids) (byId.get(id) ?? byId.set(id, new Set()).get(id)!).add(ws);
  ws.send(JSON.stringify({ op: 'subscribed', ref: m.ref }));
  for (const id of ids) ws.send(JSON.stringify({ op: 'snapshot', twin: { ...twin, id, version: versions.get(id) ?? 1 } }));
}

const app = new Hono();
app.get('/v1/twins/:id', (c) => c.json({ ...twin, id: c.req.param('id') }));
app.patch('/v1/twins/:id', async (c) => {
  const body = await c.req.json();
  const id = c.req.param('id');
  const version = (versions.get(id) ?? 1) + 1;
  versions.set(id, version);
  broadcast(id, version, body.desired);
  return c.json({ ...twin, id, version, desired: { ...twin.desired, ...body.desired } });
});
app.post('/v1/twins', async (c) => {
  const body = await c.req.json();
  versions.set(body.id, 1);
  return c.json({ ...twin, id: body.id }, 201);
});
// The adapter's defaults, as Doppel's Node runtime uses them (src/runtime/node.ts).
const server = createAdaptorServer({ fetch: app.fetch }) as Server;
const wss = new WebSocketServer({ server, path: '/v1/ws', perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => subscribe(ws, String(data)));
  ws.on('close', () => {
    for (const set of byId.values()) set.delete(ws);
    for (let i = byPrefix.length - 1; i >= 0; i--) if (byPrefix[i]!.ws === ws) byPrefix.splice(i, 1);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', http: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => { for (const ws of wss.clients) ws.terminate(); server.close(() => process.exit(0)); });
