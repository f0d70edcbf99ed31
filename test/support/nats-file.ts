/**
 * One nats-server for a test file, and connections to it that the file's `afterAll` closes: call
 * at the top level of the file.
 */
import { afterAll, beforeAll } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';

export function natsForFile(): { open(): Promise<NatsConnection> } {
  let nats: NatsCluster | undefined;
  const connections: NatsConnection[] = [];
  beforeAll(async () => { nats = await startNats(1); }, 60_000);
  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await nats?.stop();
  });
  return {
    async open() {
      const nc = await connect({ servers: nats!.urls });
      connections.push(nc);
      return nc;
    },
  };
}
