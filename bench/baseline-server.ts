// A bare hono route answering the same JSON as a twin GET/PATCH, over the same adapter: the
// ceiling our HTTP path is measured against. Prints {"msg":"listening","http":port} like doppel.
import { createAdaptorServer } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Hono } from 'hono';

const twin = {
  id: 'bench-0', version: 1, desired: { temp: 21, mode: 'eco' }, reported: { temp: 20, mode: 'eco', fw: '1.2.0' },
  delta: { temp: 21 }, tags: { site: 'berlin' },
  metadata: { desired: { temp: { updatedAt: new Date().toISOString() } }, reported: {} },
  sync: { inSync: false, pendingSince: new Date().toISOString() }, connection: { online: false, via: null, lastSeenAt: null },
  createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
};
const app = new Hono();
app.get('/v1/twins/:id', (c) => c.json({ ...twin, id: c.req.param('id') }));
app.patch('/v1/twins/:id', async (c) => { const body = await c.req.json(); return c.json({ ...twin, id: c.req.param('id'), desired: body.desired }); });
// The adapter's defaults, as Doppel's Node runtime uses them (src/runtime/node.ts).
const server = createAdaptorServer({ fetch: app.fetch }) as Server;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', http: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
