// An app follows every twin of a site over WebSocket, changes one, drops its connection, and
// resumes with `since` (only the changes it missed arrive); then a device session reports.
// Run from the repository root while `npm start` serves: node examples/websocket.mjs
// (Browsers cannot set headers on a WebSocket: they connect to `/v1/ws?access_token=<token>`.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const API = process.env.API ?? 'http://127.0.0.1:8080';
const ADMIN = process.env.ADMIN ?? readFileSync('data/admin-token', 'utf8').trim();
/** One HTTP API call with the admin token; a refusal (other than `allowed`) stops the walkthrough with its error code. */
async function http(method, path, body, allowed = []) {
  const res = await fetch(`${API}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => { console.error(`cannot reach ${API}: start the server first (npm start)`); process.exit(1); });
  const reply = res.status === 204 ? {} : await res.json();
  if (!res.ok && !allowed.includes(res.status)) throw new Error(`${method} ${path}: ${reply.code}: ${reply.detail}`);
  return reply;
}

/** Connects with `token`; `take(op)` waits for the next message of that op (others stay queued). */
async function connect(name, token) {
  const ws = new WebSocket(`${API.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  const inbox = [];
  let arrived = () => {};
  ws.on('message', (data) => {
    console.log(`${name} ←`, String(data));
    inbox.push(JSON.parse(String(data)));
    arrived();
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const send = (message) => { console.log(`${name} →`, JSON.stringify(message)); ws.send(JSON.stringify(message)); };
  const take = async (op) => {
    for (;;) {
      const at = inbox.findIndex((m) => m.op === op);
      if (at >= 0) return inbox.splice(at, 1)[0];
      await new Promise((resolve) => { arrived = resolve; });
    }
  };
  return { send, take, inbox, close: () => ws.close() };
}

// Start over, so the walkthrough can run again: delete the twins an earlier run left (404 if none).
for (const id of ['site-a:thermo-1', 'site-a:thermo-2']) await http('DELETE', `/v1/twins/${id}`, undefined, [404]);
// Two twins of site A, created over HTTP (the WebSocket API reads and changes twins, it does not create them).
await http('POST', '/v1/twins', { id: 'site-a:thermo-1', desired: { temp: 20 } });
await http('POST', '/v1/twins', { id: 'site-a:thermo-2', desired: { temp: 20 } });

// Follow every twin whose id starts with "site-a:": a snapshot of each, then every change.
const versions = {}; // twin id → the version this app holds: what it resumes from
let app = await connect('app', ADMIN);
app.send({ op: 'subscribe', ref: 'sub', prefix: 'site-a:' });
assert.equal((await app.take('subscribed')).ref, 'sub');
for (let i = 0; i < 2; i++) { const { twin } = await app.take('snapshot'); versions[twin.id] = twin.version; }
assert.deepEqual(versions, { 'site-a:thermo-1': 1, 'site-a:thermo-2': 1 });

// Change desired, on condition that the twin is still at version 1. The reply and the change event
// it causes may arrive in either order.
app.send({ op: 'patch', ref: 'p1', twin: 'site-a:thermo-1', desired: { temp: 22 }, ifVersion: 1 });
assert.equal((await app.take('ok')).version, 2);
const { event } = await app.take('change');
versions[event.twin] = event.version;
assert.deepEqual(event.patch, { desired: { temp: 22 } });
// The same condition again is refused; the connection stays open.
app.send({ op: 'patch', ref: 'p2', twin: 'site-a:thermo-1', desired: { temp: 30 }, ifVersion: 1 });
assert.equal((await app.take('error')).code, 'version_conflict');

// Offline for a while: meanwhile an integrator changes thermo-2.
app.close();
await http('PATCH', '/v1/twins/site-a:thermo-2', { desired: { temp: 18 } });

// Resume: `since` names the versions held, so only the missed change arrives, no snapshots.
app = await connect('app', ADMIN);
app.send({ op: 'subscribe', ref: 'again', prefix: 'site-a:', since: versions });
await app.take('subscribed');
const missed = (await app.take('change')).event;
assert.deepEqual([missed.twin, missed.version, missed.patch], ['site-a:thermo-2', 2, { desired: { temp: 18 } }]);

// A device session: the device token of thermo-1 gets its delta on connect and reports.
const { token } = await http('POST', '/v1/twins/site-a:thermo-1/token');
const device = await connect('device', token);
assert.deepEqual((await device.take('delta')).delta, { temp: 22 });
device.send({ op: 'report', ref: 'r1', reported: { temp: 22 } });
assert.deepEqual((await device.take('ok')).delta, {});
assert.deepEqual((await device.take('delta')).delta, {}); // converged
const reported = (await app.take('change')).event; // the app sees it live
assert.deepEqual([reported.version, reported.via, reported.delta], [3, 'ws', {}]);
assert.ok(!app.inbox.some((m) => m.op === 'snapshot'), 'a resumed subscription sends no snapshots');
device.close();
app.close();
