/**
 * The Kubernetes manifests: each object matches its schema (schemas.ts), and the objects fit each
 * other and the server: selectors, Service ports, probes, the volume, the Secret, the grace
 * period, the security context. The probe paths are asked of a real server.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { parseYaml } from './parse.ts';
import {
  ROOT, K8S_DIR, bytesOf, doppelContainer, effective, imageEnv, k8sEnv, k8sObjects, read, runtimeStage, secrets, services, statefulSets,
} from './recipes.ts';
import { K8sManifest } from './schemas.ts';
import type { Container, Kustomization, Probe, Service } from './schemas.ts';

const VALID_TOKEN = 'k8s-test-token-0123456789abcdef';
const env = () => k8sEnv(() => VALID_TOKEN);
const subsetOf = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

/** The container port a Service targetPort or probe port refers to (by name or number). */
function containerPort(c: Container, ref: number | string) {
  const port = c.ports.find((p) => (typeof ref === 'number' ? p.containerPort === ref : p.name === ref));
  if (port === undefined) throw new Error(`no container port ${ref}`);
  return port;
}

describe('Kubernetes manifests: schema', () => {
  it('every object of every manifest matches its schema', () => {
    expect(k8sObjects().map((o) => `${o.file}: ${o.object.kind}`)).toEqual([
      'deploy/kubernetes/kustomization.yaml: Kustomization',
      'deploy/kubernetes/secret.example.yaml: Secret',
      'deploy/kubernetes/service.yaml: Service',
      'deploy/kubernetes/service.yaml: Service',
      'deploy/kubernetes/statefulset.yaml: StatefulSet',
    ]);
  });

  it('the schemas refuse a misspelt field, a numeric env value and a bad protocol (negative control)', () => {
    const [sts] = parseYaml(read(`${K8S_DIR}/statefulset.yaml`), '1.1') as Array<{ spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }>;
    const mutate = (fn: (c: Record<string, unknown>) => void) => {
      const copy = structuredClone(sts!);
      fn(copy.spec.template.spec.containers[0]!);
      return K8sManifest.safeParse(copy).success;
    };
    expect(mutate(() => {})).toBe(true);
    expect(mutate((c) => { (c.readinessProbe as Record<string, unknown>).perodSeconds = 5; })).toBe(false);
    expect(mutate((c) => { (c.env as Array<Record<string, unknown>>)[0]!.value = 8080; })).toBe(false);
    expect(mutate((c) => { (c.ports as Array<Record<string, unknown>>)[1]!.protocol = 'udp'; })).toBe(false);
  });
});

describe('Kubernetes manifests: the objects fit together', () => {
  it('one StatefulSet, one replica (LevelDB locks its directory; no clustering)', () => {
    expect(statefulSets()).toHaveLength(1);
    expect(statefulSets()[0]!.spec.replicas).toBe(1);
  });

  it('the selector matches the pod template labels, and every Service selects the pod', () => {
    const sts = statefulSets()[0]!;
    const podLabels = sts.spec.template.metadata.labels;
    expect(subsetOf(sts.spec.selector.matchLabels, podLabels)).toBe(true);
    for (const svc of services()) expect(subsetOf(svc.spec.selector, podLabels), svc.metadata.name).toBe(true);
  });

  it('serviceName names a headless Service of the manifests', () => {
    const governing = services().find((s) => s.metadata.name === statefulSets()[0]!.spec.serviceName);
    expect(governing?.spec.clusterIP).toBe('None');
  });

  it('the container listens where the server does: HTTP on TCP, CoAP on UDP, at the configured ports', () => {
    const c = doppelContainer();
    const ports = c.ports.map((p) => `${p.containerPort}/${p.protocol}`);
    expect(ports).toContain(`${effective(env(), 'DOPPEL_HTTP')}/TCP`);
    expect(ports).toContain(`${effective(env(), 'DOPPEL_COAP')}/UDP`);
    expect(effective(env(), 'DOPPEL_HOST')).toBe('0.0.0.0'); // 127.0.0.1 would be unreachable from the Service
  });

  it('the client Service carries TCP and UDP to those container ports', () => {
    const c = doppelContainer();
    const svc = services().find((s) => s.spec.clusterIP !== 'None') as Service;
    const routes = svc.spec.ports.map((p) => {
      const target = containerPort(c, p.targetPort);
      expect(target.protocol, p.name).toBe(p.protocol);
      return `${target.containerPort}/${p.protocol}`;
    });
    expect(routes).toEqual(expect.arrayContaining([`${effective(env(), 'DOPPEL_HTTP')}/TCP`, `${effective(env(), 'DOPPEL_COAP')}/UDP`]));
  });

  it('probes: startup and liveness on /healthz, readiness on /readyz, all on the HTTP port', () => {
    const c = doppelContainer();
    const probes: Array<[Probe | undefined, string]> = [[c.startupProbe, '/healthz'], [c.livenessProbe, '/healthz'], [c.readinessProbe, '/readyz']];
    for (const [probe, path] of probes) {
      expect(probe?.httpGet.path).toBe(path);
      const target = containerPort(c, probe!.httpGet.port);
      expect(`${target.containerPort}/${target.protocol}`).toBe(`${effective(env(), 'DOPPEL_HTTP')}/TCP`);
    }
  });

  it('the data volume is a claim template mounted at DOPPEL_DATA; every mount names a volume', () => {
    const sts = statefulSets()[0]!;
    const claims = sts.spec.volumeClaimTemplates.map((t) => t.metadata.name);
    const volumes = [...claims, ...(sts.spec.template.spec.volumes ?? []).map((v) => v.name)];
    const mounts = doppelContainer().volumeMounts;
    for (const m of mounts) expect(volumes, m.name).toContain(m.name);
    const data = mounts.find((m) => m.mountPath === effective(env(), 'DOPPEL_DATA'));
    expect(claims).toContain(data?.name);
    expect(data?.readOnly).not.toBe(true);
  });

  it('every secretKeyRef names a Secret of the manifests and one of its keys', () => {
    const refs = doppelContainer().env.flatMap((e) => (e.valueFrom && 'secretKeyRef' in e.valueFrom ? [e.valueFrom.secretKeyRef] : []));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const secret = secrets().find((s) => s.metadata.name === ref.name);
      expect(secret, ref.name).toBeDefined();
      expect(Object.keys({ ...secret!.stringData, ...secret!.data })).toContain(ref.key);
    }
    expect(doppelContainer().env.find((e) => e.name === 'DOPPEL_ADMIN_TOKEN')?.valueFrom).toBeDefined();
  });

  it('the example Secret cannot go live: the server refuses its placeholder token', () => {
    const placeholder = k8sEnv((name, key) => secrets().find((s) => s.metadata.name === name)!.stringData![key]!);
    expect(() => loadConfig([], placeholder)).toThrow(/admin-token/);
  });

  it('the grace period outlasts the drain (DOPPEL_SHUTDOWN_SECONDS)', () => {
    const grace = statefulSets()[0]!.spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBeGreaterThan(Number(effective(env(), 'DOPPEL_SHUTDOWN_SECONDS')));
  });

  it('runs as the image user, non-root, read-only root, no privilege escalation, no capabilities', () => {
    const pod = statefulSets()[0]!.spec.template.spec;
    const user = /^(\d+)(?::(\d+))?$/.exec(runtimeStage().instructions.filter((i) => i.keyword === 'USER').at(-1)!.args)!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user[1]), fsGroup: Number(user[2] ?? user[1]) });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.enableServiceLinks).toBe(false); // else DOPPEL_SERVICE_HOST & co. appear in the settings' namespace
    const sc = doppelContainer().securityContext;
    expect(sc).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(sc.capabilities.drop).toContain('ALL');
    expect(sc.capabilities.add ?? []).toEqual([]);
  });

  it('has requests and limits, and the V8 heap cap fits under the memory limit', () => {
    const { requests, limits } = doppelContainer().resources;
    expect(bytesOf(limits.memory)).toBeGreaterThanOrEqual(bytesOf(requests.memory));
    const heap = /--max-old-space-size=(\d+)/.exec(env().NODE_OPTIONS ?? '');
    if (heap) expect(Number(heap[1]) * 2 ** 20).toBeLessThan(bytesOf(limits.memory));
  });

  it('kustomization lists every manifest but the example Secret, and the image it renames', () => {
    const k = k8sObjects().find((o) => o.object.kind === 'Kustomization')!.object as Kustomization;
    for (const r of k.resources) expect(existsSync(join(ROOT, K8S_DIR, r)), r).toBe(true);
    const manifests = readdirSync(join(ROOT, K8S_DIR)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(manifests.filter((f) => !f.includes('example')).sort());
    const images = statefulSets()[0]!.spec.template.spec.containers.map((c) => c.image.split(':')[0]);
    for (const i of k.images ?? []) expect(images).toContain(i.name);
  });

  it('the container env is a valid server configuration (image ENV + manifest)', () => {
    expect(imageEnv().DOPPEL_DATA).toBeDefined();
    expect(() => loadConfig([], env())).not.toThrow();
  });
});

describe('Kubernetes manifests: probes against a real server', () => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(); });
  afterAll(async () => { await t?.stop(); });

  it('every probe path answers 200 without a credential', async () => {
    const c = doppelContainer();
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      const res = await t.call('GET', probe!.httpGet.path, { token: null });
      expect(res.status, probe!.httpGet.path).toBe(200);
      await res.body?.cancel();
    }
  });
});
