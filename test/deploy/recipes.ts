/**
 * The recipes in deploy/, loaded once and read the way their tool reads them, plus the facts the
 * tests compare them with: the real configuration (`describeConfig`, `loadConfig`), package.json
 * and the environment each recipe hands the server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../../bench/server-command.ts';
import { describeConfig } from '../../src/config.ts';
import { dockerStages, parseDockerfile, parseEnvFile, parseUnit, parseYaml, stageEnv, unitEnvironment } from './parse.ts';
import type { Stage } from './parse.ts';
import { ComposeFile, K8sManifest } from './schemas.ts';
import type { ComposeService, Container, K8sObject, Secret, Service, StatefulSet } from './schemas.ts';

export const ROOT = projectRoot;
export const DEPLOY = join(ROOT, 'deploy');
export const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

/** Every file under deploy/, relative to the repository root. */
export function deployFiles(dir = DEPLOY): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? deployFiles(join(dir, e.name)) : [relative(ROOT, join(dir, e.name))]).sort();
}
export const yamlFiles = (): string[] => deployFiles().filter((f) => /\.ya?ml$/.test(f));

export const SETTINGS = describeConfig();
export const SETTING_BY_ENV = new Map(SETTINGS.map((s) => [s.env, s]));
export const defaultOf = (env: string): unknown => SETTING_BY_ENV.get(env)?.default;

export const packageJson = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>; dependencies: Record<string, string>; engines: { node: string };
};

// --- Dockerfile ------------------------------------------------------------------------------

export const DOCKERFILE = 'deploy/Dockerfile';
export const dockerStagesOf = (): Stage[] => dockerStages(parseDockerfile(read(DOCKERFILE)));
/** The stage the image is made of (the last one). */
export const runtimeStage = (): Stage => dockerStagesOf().at(-1)!;
/** Environment the image sets for the server. */
export const imageEnv = (): Record<string, string> => stageEnv(runtimeStage());

// --- Kubernetes ------------------------------------------------------------------------------

export const K8S_DIR = 'deploy/kubernetes';

/** Every object of every manifest in deploy/kubernetes, validated by the zod schemas. */
export function k8sObjects(): Array<{ file: string; object: K8sObject }> {
  return yamlFiles().filter((f) => f.startsWith(`${K8S_DIR}/`)).flatMap((file) =>
    parseYaml(read(file), '1.1').map((doc) => ({ file, object: K8sManifest.parse(doc) })));
}
const ofKind = <K extends K8sObject['kind']>(kind: K) =>
  k8sObjects().map((o) => o.object).filter((o): o is Extract<K8sObject, { kind: K }> => o.kind === kind);
export const statefulSets = (): StatefulSet[] => ofKind('StatefulSet');
export const services = (): Service[] => ofKind('Service');
export const secrets = (): Secret[] => ofKind('Secret');
export const doppelContainer = (): Container => statefulSets()[0]!.spec.template.spec.containers.find((c) => c.name === 'doppel')!;

/** The container's env as the server sees it: the image's ENV, overridden by the manifest. */
export function k8sEnv(secretValue: (name: string, key: string) => string): Record<string, string> {
  const env = { ...imageEnv() };
  for (const e of doppelContainer().env) {
    const from = e.valueFrom;
    if (from !== undefined && !('secretKeyRef' in from)) throw new Error(`${e.name}: only values and secretKeyRef here`);
    env[e.name] = e.value ?? secretValue(from!.secretKeyRef.name, from!.secretKeyRef.key);
  }
  return env;
}

// --- Compose ---------------------------------------------------------------------------------

export const COMPOSE = 'deploy/compose.yaml';
export const composeFile = () => ComposeFile.parse(parseYaml(read(COMPOSE))[0]);
export const composeService = (): ComposeService => composeFile().services.doppel!;

// --- systemd ---------------------------------------------------------------------------------

export const UNIT = 'deploy/systemd/doppel.service';
export const ENV_EXAMPLE = 'deploy/systemd/doppel.env.example';
export const unit = () => parseUnit(read(UNIT));
/** The unit's Environment= defaults, overridden by the example EnvironmentFile. */
export const unitEnv = (): Record<string, string> => ({ ...unitEnvironment(unit()), ...parseEnvFile(read(ENV_EXAMPLE)) });

/** A setting's effective value in an environment: its variable if set and not empty, else the default. */
export function effective(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  return value !== undefined && value !== '' ? value : String(defaultOf(name));
}

/** Kubernetes-style quantity (`256Mi`, `1Gi`, `500M`) in bytes. */
export function bytesOf(quantity: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!m) throw new Error(`not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] === undefined ? 1 : factor[m[2]]!);
}
