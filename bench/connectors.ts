/**
 * Outbound connectors under CoAP report load (`npm run bench -- --only connectors`): one server,
 * phases in one run: no connector, 1 webhook, 3 webhooks, 1 NATS subject. Each phase warms up for a
 * second with its connectors (their client code loaded and compiled, that backlog delivered), then
 * runs the same confirmable CoAP report load and reports its req/s (the cost connectors add to the write path),
 * the events/s delivered (from load start to the last delivery) and the delivery latency from the
 * event's `at` to its arrival at the local receiver (p50/p99).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startNats } from './nats-servers.ts';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, cpuSeconds, startDoppel, stop } from './server-process.ts';

interface Sink { count: number; latencies: number[]; lastAt: number }
const newSink = (): Sink => ({ count: 0, latencies: [], lastAt: 0 });
const record = (sink: Sink, body: string) => {
  const { event } = JSON.parse(body) as { event: { at: string } };
  const now = Date.now();
  sink.count++;
  sink.latencies.push(now - Date.parse(event.at));
  sink.lastAt = now;
};
const quantile = (xs: number[], q: number) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!);

async function webhookReceiver(sink: Sink): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { record(sink, Buffer.concat(chunks).toString()); res.writeHead(204).end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, server };
}

export async function connectorsBench(opts: { twins: number; seconds: number; log?: (line: string) => void }): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-conn-'));
  const server = await startDoppel('node', dir);
  const nats = await startNats(1);
  await nats.ready();
  const nc = await connect({ servers: nats.urls[0] });
  const receivers: Server[] = [];
  const api = (method: string, path: string, body?: unknown) => fetch(`http://127.0.0.1:${server.port}${path}`, {
    method, headers: { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  try {
    const tokens = await seedDevices(server.port, opts.twins, 'cb-');
    const datagrams = coapUpdateDatagrams(tokens, 'cb-');
    await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds: 1 }); // warm-up
    const phases: { name: string; kinds: ('webhook' | 'nats')[] }[] = [
      { name: 'no connector', kinds: [] }, { name: '1 webhook', kinds: ['webhook'] }, { name: '3 webhooks', kinds: ['webhook', 'webhook', 'webhook'] }, { name: '1 NATS subject', kinds: ['nats'] },
    ];
    log(`\n| CoAP reports, 16 in flight, ${opts.twins} twins, ${opts.seconds} s | req/s | server CPU µs/req (delivery included) | events/s delivered (per connector) | delivery latency p50 / p99 |`);
    log('|---|---|---|---|---|');
    let base = NaN;
    for (const [p, phase] of phases.entries()) {
      const sinks: Sink[] = [];
      const ids: string[] = [];
      for (const [i, kind] of phase.kinds.entries()) {
        const sink = newSink();
        sinks.push(sink);
        const id = `bench-${p}-${i}`;
        ids.push(id);
        if (kind === 'webhook') {
          const r = await webhookReceiver(sink);
          receivers.push(r.server);
          await api('POST', '/v1/connectors', { id, kind, url: r.url, secret: 'bench-secret-0123456789', prefix: 'cb-' });
        } else {
          nc.subscribe(`bench${p}.>`, { callback: (_e, m) => record(sink, m.string()) });
          await nc.flush();
          await api('POST', '/v1/connectors', { id, kind, url: nats.urls[0], subject: `bench${p}`, prefix: 'cb-' });
        }
      }
      // Caught up: every connector's backlog empty (or given up after 60 s, said in the table).
      const caughtUp = async () => {
        const deadline = Date.now() + 60_000;
        for (const id of ids) {
          for (;;) {
            const s = await (await api('GET', `/v1/connectors/${id}`)).json() as { lag: number; lastError: string | null; delivered: number };
            if (s.lag === 0) break;
            if (Date.now() > deadline) { log(`(${id} not caught up after 60 s: delivered ${s.delivered}, last error ${s.lastError})`); break; }
            await new Promise((res) => setTimeout(res, 100));
          }
        }
      };
      // Warm-up with this phase's connectors (their client code loaded and compiled), then measure afresh.
      await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds: 1 });
      await caughtUp();
      for (const sink of sinks) Object.assign(sink, newSink());
      const started = Date.now();
      const c0 = await cpuSeconds(server.child.pid!);
      const r = await runCoapLoad({ port: server.coapPort, datagrams, inFlight: 16, seconds: opts.seconds });
      const ok = r.codes.get(0x44) ?? 0;
      const rate = ok / r.seconds;
      if (phase.kinds.length === 0) base = rate;
      await caughtUp();
      const cpuUs = Math.round(((await cpuSeconds(server.child.pid!)) - c0) * 1e6 / ok);
      const cost = phase.kinds.length === 0 ? '' : ` (${(((base - rate) / base) * 100).toFixed(0)}% below none)`;
      const perConnector = sinks.map((s) => Math.round(s.count / ((s.lastAt - started) / 1000))).join(', ');
      const lat = sinks.flatMap((s) => s.latencies);
      log(`| ${phase.name} | ${Math.round(rate)}${cost} | ${cpuUs} | ${sinks.length === 0 ? '—' : perConnector} | ${sinks.length === 0 ? '—' : `${quantile(lat, 0.5)} / ${quantile(lat, 0.99)} ms`} |`);
      for (const id of ids) await api('DELETE', `/v1/connectors/${id}`);
    }
    log('\nEvents/s counts from load start to the last delivery (the backlog drains after the load ends); latency includes time queued in the outbox.');
  } finally {
    await nc.close().catch(() => undefined);
    for (const s of receivers) s.close();
    await stop(server);
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
