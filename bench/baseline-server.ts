// A bare hono route answering the same JSON as a twin GET/PATCH, over the same adapter: the
// ceiling our HTTP path is measured against. Prints {"msg":"listening","http":port} like doppel.
import { createAdaptorServer } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Hono } from 'hono';

// Shaped like a twin the bench seeds (desired {temp, mode}, tags, nothing reported yet), so both
// servers answer a document of the same size (473 bytes for "bench-0").
const at = new Date().toISOString();
const twin = {
  id: 'bench-0', version: 1, desired: { temp: 21, mode: 'eco' }, reported: {}, delta: { temp: 21, mode: 'eco' }, tags: { site: 'berlin' },
  metadata: { desired: { temp: { updatedAt: at }, mode: { updatedAt: at } }, reported: {} },
  sync: { inSync: false, pendingSince: at }, connection: { online: false, via: null, lastSeenAt: null },
  createdAt: at, updatedAt: at,
};
const app = new Hono();
app.get('/v1/twins/:id', (c) => c.json({ ...twin, id: c.req.param('id') }));
app.patch('/v1/twins/:id', async (c) => { const body = await c.req.json(); return c.json({ ...twin, id: c.req.param('id'), desired: { ...twin.desired, ...body.desired } }); });
// The adapter's defaults, as Doppel's Node runtime uses them (src/runtime/node.ts).
const server = createAdaptorServer({ fetch: app.fetch }) as Server;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', http: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
