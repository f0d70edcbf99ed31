/**
 * deploy/compose.cluster.yaml: three nats-servers routed into one JetStream cluster and three
 * Doppel nodes whose environment loads (src/config.ts) into cluster mode with R3, distinct node
 * ids and ports, and one shared admin token.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, natsUrls } from '../../src/config.ts';
import { interpolate, parseYaml } from '../deploy/parse.ts';
import { read } from '../deploy/recipes.ts';

interface Service { image: string; command?: string[]; environment?: Record<string, string>; ports?: string[]; depends_on?: string[] }
const compose = parseYaml(read('deploy/compose.cluster.yaml'))[0] as { services: Record<string, Service> };
const TOKEN = 'compose-cluster-token-0123456789abcdef';
const names = Object.keys(compose.services);
const natsNames = names.filter((n) => n.startsWith('nats'));
const doppelNames = names.filter((n) => n.startsWith('doppel'));
const envOf = (name: string) => Object.fromEntries(Object.entries(compose.services[name]!.environment!).map(([k, v]) => [k, interpolate(v, { DOPPEL_ADMIN_TOKEN: TOKEN })]));

describe('compose.cluster.yaml', () => {
  it('has three nats-servers with JetStream, routed to each other in one cluster', () => {
    expect(natsNames).toEqual(['nats1', 'nats2', 'nats3']);
    for (const name of natsNames) {
      const args = compose.services[name]!.command!;
      expect(args).toContain('--jetstream');
      expect(args[args.indexOf('--name') + 1]).toBe(name);
      expect(args[args.indexOf('--routes') + 1]!.split(',')).toEqual(natsNames.map((n) => `nats://${n}:6222`));
    }
  });

  it('has three Doppel nodes in cluster mode with R3 on every nats-server, distinct ids and ports, one admin token', () => {
    expect(doppelNames).toEqual(['doppel1', 'doppel2', 'doppel3']);
    const configs = doppelNames.map((name) => loadConfig([], envOf(name)));
    for (const config of configs) {
      expect(config.clusterReplicas).toBe(3);
      expect(natsUrls(config.cluster!)).toEqual(natsNames.map((n) => `nats://${n}:4222`));
      expect(config.adminToken).toBe(TOKEN);
    }
    expect(new Set(configs.map((c) => c.nodeId)).size).toBe(3);
    const hostPorts = doppelNames.flatMap((name) => compose.services[name]!.ports!.map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const name of doppelNames) expect(compose.services[name]!.depends_on).toEqual(natsNames);
  });

  it('refuses to start without an admin token (every node needs the same one)', () => {
    expect(() => interpolate(compose.services.doppel1!.environment!.DOPPEL_ADMIN_TOKEN!, {})).toThrow(/same for every node/);
  });
});
