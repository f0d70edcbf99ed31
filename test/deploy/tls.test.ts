/**
 * The TLS recipes: deploy/compose.tls.yaml (a volume + env, on top of compose.yaml),
 * deploy/kubernetes-tls/ (an overlay mounting a kubernetes.io/tls Secret + env, HTTPS probes) and
 * deploy/systemd/doppel-tls.conf (LoadCredential= + env). Each must hand the server a valid TLS
 * configuration whose files are where the recipe mounts them; each tool that is installed renders
 * or verifies its recipe; and the image's healthcheck must follow the server to https://.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startTestServer, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { makeCertificate } from '../tls/certificate.ts';
import type { CertificateFiles } from '../tls/certificate.ts';
import { execForm, interpolate, parseUnit, parseYaml, splitOptions, unitEnvironment, unitValue, unitValues } from './parse.ts';
import { ROOT, UNIT, composeService, imageEnv, read, runtimeStage, unitEnv } from './recipes.ts';
import { K8sManifest } from './schemas.ts';
import type { StatefulSet } from './schemas.ts';

const TOKEN = 'tls-recipe-token-0123456789abcdef';
const works = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const COMPOSE_CLI = works('docker', ['compose', 'version']) ? ['docker', 'compose'] : works('docker-compose', ['version']) ? ['docker-compose'] : null;
const HAS_KUBECTL = works('kubectl', ['version', '--client']);
const HAS_ANALYZE = works('systemd-analyze', ['--version']);

/** The settings must name both files, and the server's own loadConfig must accept the environment. */
function expectTlsConfig(env: Record<string, string>): { cert: string; key: string } {
  const config = loadConfig([], env);
  expect(config.tlsCert).toBeDefined();
  expect(config.tlsKey).toBeDefined();
  return { cert: config.tlsCert!, key: config.tlsKey! };
}

describe('the image healthcheck follows DOPPEL_TLS_CERT to https://', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let certificate: CertificateFiles;
  let t: TestServer;
  beforeAll(async () => {
    dir = await tempDir('doppel-tls-recipe-');
    certificate = await makeCertificate(dir.path);
    t = await startTestServer(['--tls-cert', certificate.cert, '--tls-key', certificate.key]);
  });
  afterAll(async () => {
    await t?.stop();
    await dir?.remove();
  });

  const healthcheck = (env: Record<string, string>) => {
    const hc = runtimeStage().instructions.filter((i) => i.keyword === 'HEALTHCHECK').at(-1)!;
    const [program, ...rest] = execForm(splitOptions(hc.args).rest.replace(/^CMD\s+/, ''))!;
    expect(program).toBe('node');
    // Asynchronously: the server under test runs in this process and must keep answering.
    return new Promise<number | null>((resolve) => {
      execFile(process.execPath, rest, { env: { PATH: process.env.PATH, DOPPEL_HTTP: String(t.server.httpPort), ...env }, timeout: 15_000 },
        (err) => resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : null));
    });
  };

  it('passes against the HTTPS server when the container has DOPPEL_TLS_CERT', async () => {
    expect(await healthcheck({ DOPPEL_TLS_CERT: certificate.cert })).toBe(0);
  });

  it('fails against it over plain HTTP (the scheme really switches)', async () => {
    expect(await healthcheck({})).toBe(1);
  });
});

describe('compose.tls.yaml', () => {
  const override = () => parseYaml(read('deploy/compose.tls.yaml'))[0] as { services: { doppel: { environment: Record<string, string>; volumes: string[] } } };

  it('adds TLS settings that the server accepts, on top of compose.yaml and the image', () => {
    const env = { ...imageEnv(), ...composeService().environment, ...override().services.doppel.environment };
    const shell = { DOPPEL_ADMIN_TOKEN: TOKEN };
    expectTlsConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, shell)])));
  });

  it('mounts the folder holding both files read-only where the settings point', () => {
    const { environment, volumes } = override().services.doppel;
    const mounts = volumes.map((v) => interpolate(v, {}).split(':'));
    for (const file of [environment.DOPPEL_TLS_CERT!, environment.DOPPEL_TLS_KEY!]) {
      expect(mounts.find(([, target, mode]) => target === dirname(file) && mode === 'ro'), file).toBeDefined();
    }
    expect(basename(environment.DOPPEL_TLS_CERT!)).toBe('tls.crt');
    expect(basename(environment.DOPPEL_TLS_KEY!)).toBe('tls.key');
  });

  it.runIf(COMPOSE_CLI)('merges with compose.yaml in `docker compose config` / `docker-compose config` (runs only where one is installed)', () => {
    const tlsDir = mkdtempSync(join(tmpdir(), 'doppel-compose-tls-'));
    try {
      const res = spawnSync(COMPOSE_CLI![0]!, [...COMPOSE_CLI!.slice(1), '-f', 'deploy/compose.yaml', '-f', 'deploy/compose.tls.yaml', 'config'], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, TLS_DIR: tlsDir, DOPPEL_ADMIN_TOKEN: TOKEN },
      });
      expect(res.status, res.stderr).toBe(0);
      const merged = parseYaml(res.stdout)[0] as { services: { doppel: { environment: Record<string, string>; volumes: string[] } } };
      const svc = merged.services.doppel;
      expectTlsConfig({ ...imageEnv(), ...svc.environment });
      expect(svc.volumes).toEqual(expect.arrayContaining([`${tlsDir}:/etc/doppel/tls:ro`, expect.stringMatching(/^doppel-data:\/data/)]));
    } finally {
      rmSync(tlsDir, { recursive: true, force: true });
    }
  });
});

/** The part of a pod spec the TLS overlay touches: the patch itself, or the rendered StatefulSet's. */
interface TlsPod {
  containers: Array<{
    name: string;
    env: Array<{ name: string; value?: string }>;
    volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    startupProbe?: { httpGet: { scheme?: string } };
    livenessProbe?: { httpGet: { scheme?: string } };
    readinessProbe?: { httpGet: { scheme?: string } };
  }>;
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
}

describe('kubernetes-tls/ overlay', () => {
  const kustomization = () => parseYaml(read('deploy/kubernetes-tls/kustomization.yaml'))[0] as { resources: string[]; patches: Array<{ path: string }> };
  const patch = () => parseYaml(read('deploy/kubernetes-tls/statefulset-tls.yaml'), '1.1')[0] as { kind: string; metadata: { name: string }; spec: { template: { spec: TlsPod } } };

  it('patches the base StatefulSet', () => {
    expect(kustomization().resources).toEqual(['../kubernetes']);
    expect(kustomization().patches.map((p) => p.path)).toEqual(['statefulset-tls.yaml']);
    expect(patch()).toMatchObject({ kind: 'StatefulSet', metadata: { name: 'doppel' } });
  });

  /** Checks a pod spec (the patch, or the rendered StatefulSet): env → read-only mount → the Secret's keys; HTTPS probes. */
  function expectTlsPod(pod: TlsPod): void {
    const c = pod.containers.find((x) => x.name === 'doppel')!;
    const value = (name: string) => c.env.find((e) => e.name === name)?.value;
    for (const [setting, key] of [['DOPPEL_TLS_CERT', 'tls.crt'], ['DOPPEL_TLS_KEY', 'tls.key']] as const) {
      const path = value(setting)!;
      expect(basename(path), setting).toBe(key); // the two keys of a kubernetes.io/tls Secret
      const mount = c.volumeMounts.find((m) => m.mountPath === dirname(path));
      expect(mount?.readOnly, setting).toBe(true);
      expect(pod.volumes?.find((v) => v.name === mount!.name)?.secret?.secretName).toBe('doppel-tls');
    }
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(probe?.httpGet.scheme).toBe('HTTPS');
  }

  it('points the settings at the mounted kubernetes.io/tls Secret and probes over HTTPS', () => {
    expectTlsPod(patch().spec.template.spec);
  });

  it.runIf(HAS_KUBECTL)('renders with `kubectl kustomize` into valid objects and a valid TLS configuration (runs only where kubectl is installed)', () => {
    const res = spawnSync('kubectl', ['kustomize', 'deploy/kubernetes-tls'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    const objects = parseYaml(res.stdout, '1.1').map((doc) => K8sManifest.parse(doc));
    const sts = objects.find((o): o is StatefulSet => o.kind === 'StatefulSet')!;
    expectTlsPod(sts.spec.template.spec);
    const container = sts.spec.template.spec.containers.find((c) => c.name === 'doppel')!;
    const env = { ...imageEnv(), ...Object.fromEntries(container.env.map((e) => [e.name, e.value ?? TOKEN])) };
    expect(env.DOPPEL_DATA).toBe('/data'); // the base is kept, not replaced
    expectTlsConfig(env);
  });
});

describe('systemd/doppel-tls.conf', () => {
  const dropIn = () => parseUnit(read('deploy/systemd/doppel-tls.conf'));

  it('reads each file from the credentials directory (%d) that LoadCredential= fills', () => {
    const credentials = new Map(unitValues(dropIn(), 'Service', 'LoadCredential').map((v) => [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]));
    const env = unitEnvironment(dropIn());
    for (const setting of ['DOPPEL_TLS_CERT', 'DOPPEL_TLS_KEY']) {
      const m = /^%d\/(.+)$/.exec(env[setting] ?? '');
      expect(m, setting).not.toBeNull();
      expect(credentials.get(m![1]!), setting).toMatch(/^\/etc\/doppel\/tls\//);
    }
    expectTlsConfig({ ...unitEnv(), ...env });
  });

  it.runIf(HAS_ANALYZE)('passes `systemd-analyze verify` together with the unit (runs only where systemd-analyze is installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doppel-unit-tls-'));
    try {
      // The unit and its drop-in as one file (systemd merges repeated sections the same way).
      const text = `${read(UNIT)}\n${read('deploy/systemd/doppel-tls.conf')}`;
      const program = unitValue(parseUnit(text), 'Service', 'ExecStart')!.split(/\s+/)[0]!;
      writeFileSync(join(dir, 'doppel.service'), spawnSync('test', ['-e', program]).status === 0 ? text : text.replaceAll(`${program} `, `${process.execPath} `));
      const res = spawnSync('systemd-analyze', ['--recursive-errors=no', '--man=no', '--generators=no', 'verify', join(dir, 'doppel.service')], { cwd: dir, encoding: 'utf8' });
      expect(`${res.stdout}${res.stderr}`).toBe('');
      expect(res.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

