/**
 * deploy/kubernetes-cluster: three nats-servers (JetStream, routed into one cluster) and three
 * Doppel nodes in cluster mode. Each object matches its schema (schemas.ts); the routes name every
 * nats pod through the headless Service; each node's id is its pod name, its admin token comes
 * from the Secret, its NATS URLs are the nats pods' client ports; the node's environment (image
 * ENV + manifest, pod name filled in) is accepted by the server's own loadConfig; `kubectl
 * kustomize` renders the whole recipe where kubectl is installed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { parseYaml } from './parse.ts';
import { ROOT, imageEnv, read } from './recipes.ts';
import { K8sManifest } from './schemas.ts';
import type { Container, K8sObject, Kustomization, Service, StatefulSet } from './schemas.ts';

const DIR = 'deploy/kubernetes-cluster';
const TOKEN = 'k8s-cluster-token-0123456789abcdef';
const HAS_KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const manifests = () => readdirSync(join(ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
const objects = (): K8sObject[] => manifests().flatMap((f) => parseYaml(read(`${DIR}/${f}`), '1.1').map((doc) => K8sManifest.parse(doc)));
const sts = (name: string) => objects().find((o): o is StatefulSet => o.kind === 'StatefulSet' && o.metadata.name === name)!;
const services = () => objects().filter((o): o is Service => o.kind === 'Service');
const container = (set: StatefulSet, name: string): Container => set.spec.template.spec.containers.find((c) => c.name === name)!;
const arg = (c: Container, flag: string) => c.args?.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

/** A pod's environment as its container sees it: fieldRefs filled in for `pod`, the Secret as TOKEN. */
function podEnv(c: Container, pod: string): Record<string, string> {
  return Object.fromEntries(c.env.map((e) => {
    if (e.value !== undefined) return [e.name, e.value];
    const from = e.valueFrom!;
    if ('fieldRef' in from) { expect(from.fieldRef.fieldPath).toBe('metadata.name'); return [e.name, pod]; }
    return [e.name, TOKEN];
  }));
}

describe('deploy/kubernetes-cluster', () => {
  it('every object matches its schema: two StatefulSets, their Services, the example Secret', () => {
    expect(objects().map((o) => `${o.kind}/${'metadata' in o ? o.metadata?.name ?? '' : ''}`).sort()).toEqual([
      'Kustomization/', 'Secret/doppel-admin', 'Service/doppel', 'Service/doppel-headless', 'Service/nats-headless', 'StatefulSet/doppel', 'StatefulSet/nats',
    ]);
  });

  it('three nats-servers with JetStream on a claim, named after their pods, routed to every pod through the headless Service', () => {
    const nats = sts('nats');
    expect(nats.spec.replicas).toBe(3);
    const c = container(nats, 'nats');
    expect(c.args).toContain('--jetstream');
    expect(arg(c, 'name')).toBe('$(POD_NAME)');
    expect(podEnv(c, 'nats-1').POD_NAME).toBe('nats-1');
    const store = c.volumeMounts.find((m) => m.mountPath === arg(c, 'store_dir'));
    expect(nats.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toContain(store?.name);
    const pods = Array.from({ length: nats.spec.replicas }, (_, i) => `nats-${i}.${nats.spec.serviceName}`);
    const clusterPort = Number(new URL(arg(c, 'cluster')!).port);
    expect(arg(c, 'routes')!.split(',')).toEqual(pods.map((p) => `nats://${p}:${clusterPort}`));
    const headless = services().find((s) => s.metadata.name === nats.spec.serviceName)!;
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(headless.spec.ports.map((p) => p.port)).toEqual(expect.arrayContaining([Number(arg(c, 'port')), clusterPort]));
    // Probes on the monitoring port.
    const monitor = c.ports.find((p) => p.name === c.readinessProbe.httpGet.port)!;
    expect(monitor.containerPort).toBe(Number(arg(c, 'http_port')));
  });

  it('three Doppel nodes: cluster URLs are the nats pods, node id the pod name, replicas no more than servers, token from the Secret', () => {
    const doppel = sts('doppel');
    const nats = sts('nats');
    expect(doppel.spec.replicas).toBe(3);
    const c = container(doppel, 'doppel');
    const env = podEnv(c, 'doppel-2');
    expect(env.DOPPEL_NODE_ID).toBe('doppel-2');
    const clientPort = Number(arg(container(nats, 'nats'), 'port'));
    expect(env.DOPPEL_CLUSTER!.split(',')).toEqual(Array.from({ length: 3 }, (_, i) => `nats://nats-${i}.${nats.spec.serviceName}:${clientPort}`));
    expect(Number(env.DOPPEL_CLUSTER_REPLICAS)).toBeLessThanOrEqual(nats.spec.replicas);
    const secretRef = c.env.find((e) => e.name === 'DOPPEL_ADMIN_TOKEN')?.valueFrom;
    expect(secretRef).toEqual({ secretKeyRef: { name: 'doppel-admin', key: 'admin-token' } });
    const config = loadConfig([], { ...imageEnv(), ...env });
    expect(config).toMatchObject({ nodeId: 'doppel-2', clusterReplicas: 3 });
    // The state is in NATS: the data directory is scratch, and writable under a read-only root.
    const data = c.volumeMounts.find((m) => m.mountPath === env.DOPPEL_DATA)!;
    expect(doppel.spec.template.spec.volumes?.find((v) => v.name === data.name)).toHaveProperty('emptyDir');
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('the example Secret cannot go live: the server refuses its placeholder token', () => {
    const secret = objects().find((o) => o.kind === 'Secret')!;
    const placeholder = secret.kind === 'Secret' ? secret.stringData!['admin-token']! : '';
    const env = { ...imageEnv(), ...podEnv(container(sts('doppel'), 'doppel'), 'doppel-0'), DOPPEL_ADMIN_TOKEN: placeholder };
    expect(() => loadConfig([], env)).toThrow(/admin-token/);
  });

  it('each Service selects the pods of its StatefulSet and routes to their named ports', () => {
    for (const svc of services()) {
      const set = [sts('doppel'), sts('nats')].find((s) => Object.entries(svc.spec.selector).every(([k, v]) => s.spec.template.metadata.labels[k] === v))!;
      expect(set, svc.metadata.name).toBeDefined();
      const names = set.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => `${p.name}/${p.protocol}`));
      for (const p of svc.spec.ports) expect(names, `${svc.metadata.name} ${p.name}`).toContain(`${p.targetPort}/${p.protocol}`);
    }
  });

  it('the kustomization lists every manifest but the example Secret', () => {
    const k = objects().find((o): o is Kustomization => o.kind === 'Kustomization')!;
    expect([...k.resources].sort()).toEqual(manifests().filter((f) => f !== 'kustomization.yaml' && !f.includes('example')));
  });

  it.runIf(HAS_KUBECTL)('renders with `kubectl kustomize` into valid objects (runs only where kubectl is installed)', () => {
    const res = spawnSync('kubectl', ['kustomize', DIR], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    const rendered = parseYaml(res.stdout, '1.1').map((doc) => K8sManifest.parse(doc));
    expect(rendered.map((o) => o.kind).sort()).toEqual(['Service', 'Service', 'Service', 'StatefulSet', 'StatefulSet']);
  });
});
