/**
 * The recipes against the real configuration: every DOPPEL_ variable they name (in settings,
 * comments or docs) is a setting of src/config.ts, and the environment each one gives the server
 * is accepted by the server's own `loadConfig`. Also: the deploy README covers every recipe file.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { interpolate } from './parse.ts';
import { SETTING_BY_ENV, composeService, deployFiles, imageEnv, k8sEnv, read, unitEnv } from './recipes.ts';

const TOKEN = 'cross-check-token-0123456789abcdef';
const recipeEnvs: Record<string, () => Record<string, string>> = {
  'deploy/Dockerfile': imageEnv,
  'deploy/compose.yaml': () => ({ ...imageEnv(), ...Object.fromEntries(Object.entries(composeService().environment).map(([k, v]) => [k, interpolate(v, { DOPPEL_ADMIN_TOKEN: TOKEN })])) }),
  'deploy/kubernetes/statefulset.yaml': () => k8sEnv(() => TOKEN),
  'deploy/systemd (unit + env example)': unitEnv,
};
/** Variables a recipe may set besides DOPPEL_ settings, and why. */
const OTHER_VARS = new Set([
  'NODE_ENV', // conventional for production installs; Doppel does not read it
  'NODE_OPTIONS', // V8 heap cap under a container memory limit
]);

describe('recipes use real settings', () => {
  const files = [...deployFiles(), '.dockerignore'];

  it.each(files)('every DOPPEL_ name in %s is a setting of src/config.ts', (file) => {
    const names = [...read(file).matchAll(/\bDOPPEL_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)].map((m) => m[0]);
    expect(names.filter((n) => !SETTING_BY_ENV.has(n))).toEqual([]);
  });

  it.each(Object.keys(recipeEnvs))('the environment of %s is a valid configuration', (recipe) => {
    const env = recipeEnvs[recipe]!();
    expect(Object.keys(env).filter((k) => !k.startsWith('DOPPEL_') && !OTHER_VARS.has(k))).toEqual([]);
    expect(() => loadConfig([], env)).not.toThrow();
  });

  it('a misspelt setting would be caught (negative control)', () => {
    expect(SETTING_BY_ENV.has('DOPPEL_SHUTDOWN_SECOND')).toBe(false);
    expect(SETTING_BY_ENV.has('DOPPEL_SHUTDOWN_SECONDS')).toBe(true);
  });
});

describe('deploy/README.md', () => {
  it('mentions every recipe file', () => {
    const readme = read('deploy/README.md');
    const files = deployFiles().filter((f) => f !== 'deploy/README.md').map((f) => f.slice('deploy/'.length));
    expect(files.filter((f) => !readme.includes(f))).toEqual([]);
  });
});
