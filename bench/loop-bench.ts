/**
 * The convergence loop, end to end: an integrator changes desired over HTTP → the device, observing
 * its delta over CoAP, is notified → it reports the new state (confirmable PUT) → an app on a
 * WebSocket sees the change that empties the delta. Timed from sending the PATCH to that event,
 * one loop at a time.
 */
import { createSocket } from 'node:dgram';
import { generate, parse } from 'coap-packet';
import WebSocket from 'ws';
import { percentile } from './http-load.ts';
import { BENCH_ADMIN } from './server-process.ts';
import type { Started } from './server-process.ts';

const auth = { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' };

export async function convergenceLoop(server: Started, loops: number): Promise<{ p50: number; p99: number; loops: number }> {
  const base = `http://127.0.0.1:${server.port}`;
  await fetch(`${base}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'loop', desired: { v: 0 } }) });
  const { token } = await (await fetch(`${base}/v1/twins/loop/token`, { method: 'POST', headers: auth })).json() as { token: string };

  // The device: observes its delta; on each notification with work to do, reports it done.
  const device = createSocket('udp4');
  await new Promise<void>((resolve) => device.bind(0, '127.0.0.1', () => resolve()));
  let mid = 1;
  let failure: string | null = null;
  const send = (packet: Parameters<typeof generate>[0]) => device.send(generate(packet), server.coapPort, '127.0.0.1');
  const query = { name: 'Uri-Query', value: Buffer.from(`token=${token}`) };
  device.on('message', (m) => {
    const p = parse(m);
    if (p.confirmable) send({ code: '0.00', ack: true, messageId: p.messageId, token: Buffer.alloc(0) });
    if (!p.token.equals(Buffer.from('obs'))) {
      if (!p.code.startsWith('2.') && p.code !== '0.00') failure = `the device's report was answered ${p.code}: ${p.payload.toString()}`;
      return;
    }
    if (!p.code.startsWith('2.')) { failure = `the observation ended with ${p.code}: ${p.payload.toString()}`; return; }
    const delta = JSON.parse(p.payload.toString() || '{}') as { v?: number };
    if (delta.v === undefined) return;
    send({
      code: 'PUT', confirmable: true, messageId: (mid = (mid + 1) & 0xffff), token: Buffer.from([mid & 255]),
      options: [{ name: 'Uri-Path', value: Buffer.from('t') }, { name: 'Uri-Path', value: Buffer.from('loop') }, { name: 'Uri-Path', value: Buffer.from('reported') }, { name: 'Content-Format', value: Buffer.from([50]) }, query],
      payload: Buffer.from(JSON.stringify({ v: delta.v })),
    });
  });
  send({ code: 'GET', confirmable: true, messageId: mid, token: Buffer.from('obs'), options: [{ name: 'Observe', value: Buffer.alloc(0) }, { name: 'Uri-Path', value: Buffer.from('t') }, { name: 'Uri-Path', value: Buffer.from('loop') }, { name: 'Uri-Path', value: Buffer.from('delta') }, query] });

  // The app: waits for the change event whose delta is empty again.
  const app = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws`, { headers: { authorization: `Bearer ${BENCH_ADMIN}` } });
  await new Promise<void>((resolve, reject) => { app.once('open', () => resolve()); app.once('error', reject); });
  let converged: ((v: number) => void) | null = null;
  app.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { op: string; event?: { delta: object; patch: { reported?: { v?: number } } } };
    if (m.op === 'change' && m.event !== undefined && Object.keys(m.event.delta).length === 0 && m.event.patch.reported?.v !== undefined) converged?.(m.event.patch.reported.v);
  });
  app.send(JSON.stringify({ op: 'subscribe', twins: ['loop'] }));
  await new Promise((r) => setTimeout(r, 200)); // observation and subscription in place

  const times: number[] = [];
  try {
    for (let i = 1; i <= loops; i++) {
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`loop ${i} did not converge within 5 s${failure === null ? '' : `: ${failure}`}`)), 5000);
        converged = (v) => { if (v === i) { clearTimeout(timer); resolve(); } };
      });
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/twins/loop`, { method: 'PATCH', headers: auth, body: JSON.stringify({ desired: { v: i } }) });
      await res.arrayBuffer();
      await done;
      times.push(performance.now() - t0);
    }
  } finally {
    app.terminate();
    device.close();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), loops };
}
