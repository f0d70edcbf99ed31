/**
 * `npm run bench -- --only cluster [--quick]`: cluster mode on loopback, 3 nats-servers (R3) and
 * 3 Doppel nodes, against one LevelDB node measured in the same run. CoAP reported updates/s and
 * HTTP PATCH/s through all nodes and through one; the failover gap after kill -9 of a twin's
 * owner (kill → a write to that twin through a survivor succeeds); the forwarding cost (a GET
 * through the owner against one through another node). CPU is per operation, summed over the
 * Doppel processes, and separately over the nats-servers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coapUpdateDatagrams, runCoapLoad } from './coap-load.ts';
import { cpuOf, kill9, ownerOf, poll, removeNode, settled, startNode } from './cluster-nodes.ts';
import type { ClusterNode } from './cluster-nodes.ts';
import { percentile, runLoad } from './http-load.ts';
import { startNats } from './nats-servers.ts';
import { seedDevices } from './seed.ts';
import { BENCH_ADMIN, startDoppel, stop } from './server-process.ts';
import type { Started } from './server-process.ts';

export interface ClusterBenchOptions { twins: number; seconds: number; kills: number; log: (line: string) => void }

const IN_FLIGHT = 16;
const PREFIX = 'k-';
interface Cell { ops: number; seconds: number; errors: number; cpuUs: number; natsUs: number }

const patch = (twins: number) => (i: number) => {
  const body = `{"desired":{"temp":${i}}}`;
  return `PATCH /v1/twins/${PREFIX}${i % twins} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
};
const getOne = (id: string) => () => `GET /v1/twins/${id} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${BENCH_ADMIN}\r\n\r\n`;

/** Runs `load` on every target at once; CPU of `doppelPids` and `natsPids` per operation. */
async function cell(targets: Started[], doppelPids: number[], natsPids: number[], load: (s: Started) => Promise<{ ops: number; errors: number }>): Promise<Cell> {
  const [d0, n0, t0] = [await cpuOf(doppelPids), await cpuOf(natsPids), performance.now()];
  const results = await Promise.all(targets.map(load));
  const seconds = (performance.now() - t0) / 1000;
  const [d1, n1] = [await cpuOf(doppelPids), await cpuOf(natsPids)];
  const ops = results.reduce((a, r) => a + r.ops, 0);
  return { ops, seconds, errors: results.reduce((a, r) => a + r.errors, 0), cpuUs: ((d1 - d0) * 1e6) / ops, natsUs: natsPids.length === 0 ? Number.NaN : ((n1 - n0) * 1e6) / ops };
}

const fmtCell = (c: Cell) => `${Math.round(c.ops / c.seconds)} | ${Math.round(c.cpuUs)} | ${Number.isNaN(c.natsUs) ? '–' : Math.round(c.natsUs)} | ${c.errors}`;

/** CoAP updates and HTTP PATCHes against `targets`, `datagrams` shared out between them. */
async function writeCells(targets: Started[], datagrams: Buffer[], twins: number, seconds: number, pids: { doppel: number[]; nats: number[] }) {
  const share = (s: Started) => datagrams.filter((_, i) => i % targets.length === targets.indexOf(s));
  // Warm-up: every twin once through its node (actor resident, token verified).
  await Promise.all(targets.map((s) => runCoapLoad({ port: s.coapPort, datagrams: share(s), inFlight: IN_FLIGHT, seconds: 60, maxRequests: share(s).length })));
  const coap = await cell(targets, pids.doppel, pids.nats, async (s) => {
    const r = await runCoapLoad({ port: s.coapPort, datagrams: share(s), inFlight: IN_FLIGHT, seconds });
    return { ops: r.codes.get(0x44) ?? 0, errors: r.replies - (r.codes.get(0x44) ?? 0) + r.timeouts };
  });
  const http = await cell(targets, pids.doppel, pids.nats, async (s) => {
    const r = await runLoad({ port: s.port, concurrency: IN_FLIGHT, seconds, request: patch(twins) });
    return { ops: r.requests - r.errors, errors: r.errors };
  });
  return { coap, http };
}

/** GETs of one twin through `via`, one at a time: p50 latency and CPU per request. */
async function readCost(via: ClusterNode, nodes: ClusterNode[], natsPids: number[], id: string, seconds: number) {
  let p50 = 0;
  const c = await cell([via.server], nodes.map((n) => n.server.child.pid!), natsPids, async (s) => {
    const r = await runLoad({ port: s.port, concurrency: 1, seconds, request: getOne(id) });
    p50 = percentile(r.latenciesMs.sort((a, b) => a - b), 50);
    return { ops: r.requests - r.errors, errors: r.errors };
  });
  return { ...c, p50 };
}

/** Kill -9 of `twin`'s owner; ms until a PATCH of it through a survivor succeeds. Restarts the node. */
async function failoverGap(nodes: ClusterNode[], natsUrls: Parameters<typeof startNode>[0], twin: string): Promise<number> {
  const owner = await ownerOf(nodes, twin);
  const survivor = nodes.find((n) => n !== owner)!;
  await kill9(owner);
  const killedAt = performance.now();
  await poll(async () => {
    const res = await fetch(`http://127.0.0.1:${survivor.server.port}/v1/twins/${twin}`, {
      method: 'PATCH', headers: { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' }, body: '{"desired":{"failover":true}}',
    });
    await res.arrayBuffer();
    return res.status === 200 ? true : undefined;
  }, `a write to ${twin} through ${survivor.id}`);
  const gap = performance.now() - killedAt;
  await removeNode(owner);
  nodes[nodes.indexOf(owner)] = await startNode(natsUrls, owner.id, 3);
  await settled(nodes);
  return gap;
}

export async function clusterBench(opts: ClusterBenchOptions): Promise<void> {
  const { twins, seconds, log } = opts;
  // Baseline: one node on LevelDB, same twins, same load.
  const dir = await mkdtemp(join(tmpdir(), 'doppel-bench-single-'));
  const single = await startDoppel('node', dir);
  let base;
  try {
    const datagrams = coapUpdateDatagrams(await seedDevices(single.port, twins, PREFIX), PREFIX);
    base = await writeCells([single], datagrams, twins, seconds, { doppel: [single.child.pid!], nats: [] });
  } finally {
    await stop(single);
    await rm(dir, { recursive: true, force: true });
  }

  const nats = await startNats(3);
  const nodes: ClusterNode[] = [];
  try {
    for (const id of ['a', 'b', 'c']) nodes.push(await startNode(nats, id, 3));
    await settled(nodes);
    const natsPids = nats.nodes.map((n) => n.pid!);
    const doppelPids = () => nodes.map((n) => n.server.child.pid!);
    const datagrams = coapUpdateDatagrams(await seedDevices(nodes[0]!.server.port, twins, PREFIX), PREFIX);
    const all = await writeCells(nodes.map((n) => n.server), datagrams, twins, seconds, { doppel: doppelPids(), nats: natsPids });
    const one = await writeCells([nodes[0]!.server], datagrams, twins, seconds, { doppel: doppelPids(), nats: natsPids });

    log(`${twins} twins, ${IN_FLIGHT} requests in flight per node driven (CoAP: confirmable PUT reported, each 2.04 after its commit; HTTP: PATCH desired on keep-alive connections), ${seconds} s per cell. Cluster: 3 nats-servers (R3) and 3 Doppel nodes on loopback; "all nodes" drives each node with its own share of the twins (two thirds of them owned elsewhere, so forwarded). CPU is per acknowledged write: Doppel processes summed, nats-servers summed.\n`);
    log('| scenario | writes/s | Doppel CPU µs/write | nats-server CPU µs/write | errors |');
    log('|---|---|---|---|---|');
    log(`| CoAP, 1 node, LevelDB (baseline) | ${fmtCell(base.coap)} |`);
    log(`| CoAP, cluster, through all 3 nodes | ${fmtCell(all.coap)} |`);
    log(`| CoAP, cluster, through 1 node | ${fmtCell(one.coap)} |`);
    log(`| HTTP PATCH, 1 node, LevelDB (baseline) | ${fmtCell(base.http)} |`);
    log(`| HTTP PATCH, cluster, through all 3 nodes | ${fmtCell(all.http)} |`);
    log(`| HTTP PATCH, cluster, through 1 node | ${fmtCell(one.http)} |`);

    const probe = `${PREFIX}0`;
    const owner = await ownerOf(nodes, probe);
    const other = nodes.find((n) => n !== owner)!;
    const direct = await readCost(owner, nodes, natsPids, probe, seconds);
    const forwarded = await readCost(other, nodes, natsPids, probe, seconds);
    log(`\nForwarding (GET of one twin, one request at a time, CPU summed over the 3 Doppel nodes): through the owner p50 ${(direct.p50 * 1000).toFixed(0)} µs, ${Math.round(direct.cpuUs)} µs CPU/req; through another node p50 ${(forwarded.p50 * 1000).toFixed(0)} µs, ${Math.round(forwarded.cpuUs)} µs CPU/req (nats-servers ${Math.round(forwarded.natsUs)} µs/req): forwarding costs ${((forwarded.p50 - direct.p50) * 1000).toFixed(0)} µs of latency and ${Math.round(forwarded.cpuUs - direct.cpuUs)} µs of CPU per request.`);

    const gaps: number[] = [];
    for (let k = 0; k < opts.kills; k++) gaps.push(await failoverGap(nodes, nats, `${PREFIX}${k}`));
    gaps.sort((a, b) => a - b);
    log(`\nFailover (${gaps.length} × kill -9 of a twin's owner, then a PATCH of that twin through a survivor retried until it succeeds): gap p50 ${(percentile(gaps, 50) / 1000).toFixed(2)} s, max ${(gaps.at(-1)! / 1000).toFixed(2)} s (lease TTL 4 s).`);
  } finally {
    await Promise.all(nodes.map(removeNode));
    await nats.stop();
  }
}
