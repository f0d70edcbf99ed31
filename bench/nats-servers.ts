/**
 * Real nats-server processes for tests and benchmarks (here in bench/, which the image build
 * compiles, so nothing in it may import from test/): one server, or a 3-server cluster with JetStream, each on
 * free loopback ports with its own temp store dir. Every helper stops what it started; `kill9`
 * and `restart` let fault tests take one server down hard and bring it back on the same store.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually } from './eventually.ts';


const NATS_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** One nats-server process; its ports and store survive `kill9` + `restart`. */
export interface NatsNode {
  readonly name: string;
  readonly url: string;
  /** Alive = started and not killed. */
  readonly alive: boolean;
  /** The process id while alive (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: NatsNode[];
  /** Every server's client URL, for a client that should fail over between them. */
  readonly urls: string[];
  /**
   * Waits until JetStream answers through the live servers and, for a cluster, can place a
   * stream with one replica per live server (a meta leader exists and every peer has joined).
   */
  ready(timeoutMs?: number): Promise<void>;
  /** The node leading `stream`'s Raft group (clusters only). */
  leaderOf(stream: string): Promise<NatsNode>;
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1 (bound and released: good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

class Node implements NatsNode {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  constructor(readonly name: string, readonly url: string, readonly configFile: string) {}

  get alive(): boolean { return this.#child !== null; }

  get pid(): number | undefined { return this.#child?.pid; }

  async start(): Promise<void> {
    const child = spawn(NATS_BIN, ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => { this.#log = (this.#log + chunk.toString()).slice(-4000); });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`Cannot start ${NATS_BIN}: ${err.message}`)));
    });
    // Listening once a plain client connects; JetStream readiness is the cluster's `ready()`.
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`nats-server ${this.name} exited:\n${this.#log}`);
      const nc = await connect({ servers: this.url, reconnect: false, timeout: 500 }).catch(() => undefined);
      if (nc === undefined) return undefined;
      await nc.close();
      return true;
    }, `nats-server ${this.name} to listen`, 15_000);
  }

  async kill9(): Promise<void> { await this.#signal('SIGKILL'); }

  async stop(): Promise<void> { await this.#signal('SIGTERM'); }

  async restart(): Promise<void> {
    if (this.#child !== null) await this.stop();
    await this.start();
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await this.#exited;
  }
}

function configText(o: { name: string; port: number; storeDir: string; clusterPort?: number; routes?: number[] }): string {
  const lines = [`server_name: ${o.name}`, 'host: 127.0.0.1', `port: ${o.port}`, `jetstream { store_dir: "${o.storeDir}" }`];
  if (o.clusterPort !== undefined) {
    const routes = (o.routes ?? []).map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
    lines.push(`cluster { name: doppel-test, listen: 127.0.0.1:${o.clusterPort}, routes: [${routes}] }`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Starts `size` nats-servers with JetStream (1: standalone; 3 or more: one cluster, routes to
 * each other) and waits until JetStream answers.
 *
 * @example
 * ```ts
 * const nats = await startNats(3);
 * try { ... nats.urls ... await nats.nodes[0]!.kill9(); } finally { await nats.stop(); }
 * ```
 */
export async function startNats(size = 1): Promise<NatsCluster> {
  // Free ports are only free when picked: another test file may take one first. Try afresh.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOnce(size);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

async function startNatsOnce(size: number): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-nats-'));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clusterPorts = size > 1 ? await Promise.all(ports.map(() => freePort())) : [];
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const configFile = join(dir, `${name}.conf`);
    const text = configText({
      name, port: ports[i]!, storeDir: join(dir, name),
      ...(size > 1 ? { clusterPort: clusterPorts[i]!, routes: clusterPorts } : {}),
    });
    await writeFile(configFile, text);
    nodes.push(new Node(name, `nats://127.0.0.1:${ports[i]}`, configFile));
  }
  const urls = nodes.map((n) => n.url);
  const cluster: NatsCluster = {
    nodes, urls,
    async ready(timeoutMs = 30_000) {
      const live = nodes.filter((n) => n.alive).map((n) => n.url);
      const nc = await connect({ servers: live, timeout: 2_000 });
      try {
        // jetstreamManager() asks JetStream for the account info: it succeeds once JetStream answers.
        const jsm = await eventually(() => jetstreamManager(nc, { timeout: 2_000 }).catch(() => undefined), 'JetStream to answer', timeoutMs);
        if (size === 1) return;
        const probe = `READY_PROBE_${process.pid}`;
        await eventually(async () => {
          const made = await jsm.streams.add({ name: probe, subjects: [`ready.probe.${process.pid}`], num_replicas: live.length }).then(() => true, () => undefined);
          await jsm.streams.delete(probe).catch(() => undefined);
          return made;
        }, `a stream with ${live.length} replicas to be placeable`, timeoutMs);
      } finally {
        await nc.close();
      }
    },
    async leaderOf(stream) {
      const nc = await connect({ servers: nodes.filter((n) => n.alive).map((n) => n.url), timeout: 2_000 });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        const name = await eventually(async () => (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader, `a leader of ${stream}`);
        const leader = nodes.find((n) => n.name === name);
        if (leader === undefined) throw new Error(`Stream ${stream} is led by unknown server "${name}"`);
        return leader;
      } finally {
        await nc.close();
      }
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.ready();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
