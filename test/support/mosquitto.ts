/**
 * A real mosquitto broker for tests, on a free loopback port with its own config file. `stop`
 * and `start` take it down and bring it back on the same port (outage tests).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.ts';
import { freePort } from '../../bench/nats-servers.ts';

const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface Mosquitto {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the broker and removes its files. */
  remove(): Promise<void>;
}

export async function startMosquitto(): Promise<Mosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'doppel-mosquitto-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  // Persistence on: a subscriber's session (clean: false) and its queued QoS 1 messages survive a
  // stop/start, so an outage test loses nothing on the receiving side.
  await writeFile(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\n`);
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const broker: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const c = spawn(MOSQUITTO_BIN, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr!.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      child = c;
      await new Promise<void>((resolve, reject) => {
        c.once('spawn', () => resolve());
        c.once('error', (err) => reject(new Error(`Cannot start ${MOSQUITTO_BIN}: ${err.message}`)));
      });
      await eventually(async () => {
        if (c.exitCode !== null) throw new Error(`mosquitto exited:\n${log}`);
        return new Promise<true | undefined>((resolve) => {
          const socket = createConnection({ host: '127.0.0.1', port }, () => { socket.destroy(); resolve(true); });
          socket.once('error', () => resolve(undefined));
        });
      }, 'mosquitto to listen', 15_000);
    },
    async stop() {
      const c = child;
      child = null;
      if (c === null) return;
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await exited;
    },
    async remove() {
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
