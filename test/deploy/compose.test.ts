/**
 * deploy/compose.yaml: its schema (schemas.ts), how it fits the Dockerfile and the server, and,
 * where a Compose implementation is installed, that implementation's own validation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { durationSeconds, execForm, interpolate, parseYaml, splitOptions } from './parse.ts';
import { COMPOSE, DOCKERFILE, ROOT, composeFile, composeService, effective, imageEnv, read, runtimeStage } from './recipes.ts';

const TOKEN = 'compose-test-token-0123456789abcdef';
/** The server's environment: the image's ENV, then the service's, interpolated from `shell`. */
const serverEnv = (shell: Record<string, string> = {}) => {
  const env = { ...imageEnv() };
  for (const [k, v] of Object.entries(composeService().environment)) env[k] = interpolate(v, shell);
  return env;
};

/** `docker compose` (v2) if it works without an engine, else Compose v1 (Debian's docker-compose). */
function composeCommand(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return null;
}
const COMPOSE_CLI = composeCommand();

describe('compose.yaml', () => {
  it('matches the schema', () => {
    expect(Object.keys(composeFile().services)).toEqual(['doppel']);
  });

  it('builds deploy/Dockerfile with the repository root as context', () => {
    const { context, dockerfile } = composeService().build;
    const contextDir = resolve(dirname(join(ROOT, COMPOSE)), context);
    expect(contextDir).toBe(ROOT);
    expect(relative(ROOT, join(contextDir, dockerfile))).toBe(DOCKERFILE);
  });

  it('publishes HTTP on TCP and CoAP on UDP at the ports the server uses', () => {
    const targets = composeService().ports.map((p) => p.replace(/^\d+:/, ''));
    expect(targets).toContain(`${effective(serverEnv(), 'DOPPEL_HTTP')}/tcp`);
    expect(targets).toContain(`${effective(serverEnv(), 'DOPPEL_COAP')}/udp`);
  });

  it('keeps DOPPEL_DATA on a declared named volume', () => {
    const mounts = composeService().volumes.map((v) => v.split(':'));
    const data = mounts.find(([, path]) => path === effective(serverEnv(), 'DOPPEL_DATA'));
    expect(data).toBeDefined();
    expect(Object.keys(composeFile().volumes ?? {})).toContain(data![0]);
  });

  it('takes the admin token from the shell; unset, the server generates one', () => {
    expect(serverEnv({ DOPPEL_ADMIN_TOKEN: TOKEN }).DOPPEL_ADMIN_TOKEN).toBe(TOKEN);
    expect(loadConfig([], serverEnv({ DOPPEL_ADMIN_TOKEN: TOKEN })).adminToken).toBe(TOKEN);
    expect(loadConfig([], serverEnv()).adminToken).toBeUndefined();
  });

  it('uses the image HEALTHCHECK command verbatim', () => {
    const hc = runtimeStage().instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    const image = execForm(splitOptions(hc.args).rest.replace(/^CMD\s+/, ''));
    expect(composeService().healthcheck.test).toEqual(['CMD', ...image!]);
  });

  it('restarts, stops with SIGTERM, and waits longer than the drain', () => {
    const svc = composeService();
    expect(svc.restart).not.toBe('no');
    expect(svc.stop_signal).toBe('SIGTERM');
    expect(durationSeconds(svc.stop_grace_period)).toBeGreaterThan(Number(effective(serverEnv(), 'DOPPEL_SHUTDOWN_SECONDS')));
  });

  it('the interpolation reader handles the forms Compose knows (self-check)', () => {
    expect(interpolate('${A:-x}|${A-y}|$$|${B}', { A: '' })).toBe('x||$|');
    expect(() => interpolate('${A:?needed}', {})).toThrow(/needed/);
  });

  it.runIf(COMPOSE_CLI)('passes `docker compose config` / `docker-compose config` (runs only where one is installed)', () => {
    const run = (file: string, env: Record<string, string>) => spawnSync(COMPOSE_CLI![0]!, [...COMPOSE_CLI!.slice(1), '-f', file, 'config'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env },
    });
    const ok = run(join(ROOT, COMPOSE), { DOPPEL_ADMIN_TOKEN: TOKEN });
    expect(ok.stderr).not.toMatch(/invalid|unsupported|error/i);
    expect(ok.status).toBe(0);
    const resolved = parseYaml(ok.stdout)[0] as { services: { doppel: { environment: Record<string, string>; ports: Array<{ target: number; protocol: string } | string> } } };
    expect(resolved.services.doppel.environment.DOPPEL_ADMIN_TOKEN).toBe(TOKEN);
    expect(JSON.stringify(resolved.services.doppel.ports)).toMatch(/udp/);
  });

  it.runIf(COMPOSE_CLI)('`compose config` refuses an unknown key (negative control; runs only where one is installed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doppel-compose-'));
    try {
      const file = join(dir, 'compose.yaml');
      writeFileSync(file, read(COMPOSE).replace('restart:', 'restrat: always\n    restart:'));
      const res = spawnSync(COMPOSE_CLI![0]!, [...COMPOSE_CLI!.slice(1), '-f', file, 'config', '-q'], { cwd: dir, encoding: 'utf8' });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toMatch(/restrat/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
