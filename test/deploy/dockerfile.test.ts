/**
 * deploy/Dockerfile and .dockerignore without a container engine: the dockerfile-utils linter
 * (the one behind VS Code's Dockerfile support; hadolint is in neither npm nor Debian), then the
 * structure the deploy README promises, cross-checked with package.json, tsconfig.build.json and
 * the configuration. image.test.ts goes on to run the build and the CMD.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import type { ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { dockerIgnored, durationSeconds, execForm, parseDockerfile, splitOptions } from './parse.ts';
import { DOCKERFILE, ROOT, dockerStagesOf, effective, imageEnv, packageJson, read, runtimeStage } from './recipes.ts';

/** Every optional check of dockerfile-utils, as an error (by default some are ignored). */
const E = ValidationSeverity.ERROR;
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: E, directiveCasing: E, emptyContinuationLine: E, instructionCasing: E, instructionCmdMultiple: E,
  instructionEntrypointMultiple: E, instructionHealthcheckMultiple: E, instructionJSONInSingleQuotes: E, instructionWorkdirRelative: E,
};
const lint = (text: string) => validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
const ignorePatterns = () => read('.dockerignore').split('\n');
const RUNTIME = runtimeStage();
const last = (keyword: string) => RUNTIME.instructions.filter((i) => i.keyword === keyword).at(-1);

describe('Dockerfile lint', () => {
  it('passes dockerfile-utils with every rule as an error', () => {
    expect(lint(read(DOCKERFILE))).toEqual([]);
  });

  it('the linter reports a broken Dockerfile (negative control)', () => {
    expect(lint('FROM node:20\nWORKDIR app\nEXPOSE 8080/tpc\nHEALTHCHECK --interval=10 CMD true\n')).toHaveLength(3);
    expect(lint("FROM node:20\nCMD ['a']\nCMD [\"b\"]\nhealthcheck CMD true\nMAINTAINER x\n")).toHaveLength(4);
  });

  it('every instruction is one the tests can read', () => {
    const known = new Set(['ARG', 'FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'VOLUME', 'EXPOSE', 'USER', 'HEALTHCHECK', 'STOPSIGNAL', 'CMD']);
    expect(parseDockerfile(read(DOCKERFILE)).map((i) => i.keyword).filter((k) => !known.has(k))).toEqual([]);
  });
});

describe('Dockerfile structure', () => {
  it('has a build stage (npm ci, npm run build) and a runtime stage (npm ci --omit=dev, dist/ copied)', () => {
    const stages = dockerStagesOf();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = (i: number) => stages[i]!.instructions.filter((x) => x.keyword === 'RUN').map((x) => x.args);
    const build = stages.find((s) => runs(stages.indexOf(s)).some((r) => r.includes('npm run build')))!;
    expect(build.name).toBeDefined();
    expect(runs(stages.indexOf(build)).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    expect(runs(stages.length - 1).some((r) => /^npm ci\b.*--omit=dev/.test(r))).toBe(true);
    const copies = RUNTIME.instructions.filter((i) => i.keyword === 'COPY').map((i) => splitOptions(i.args));
    expect(copies.some((c) => c.options.get('from') === build.name && /\/dist\s+\.\/dist$/.test(c.rest))).toBe(true);
  });

  it('bases every stage on a Node.js that package.json engines allows', () => {
    const minimum = Number(/>=\s*(\d+)/.exec(packageJson.engines.node)![1]);
    for (const stage of dockerStagesOf()) {
      const major = /^node:(\d+)/.exec(stage.base);
      expect(major, stage.base).not.toBeNull();
      expect(Number(major![1])).toBeGreaterThanOrEqual(minimum);
    }
  });

  it('copies into the build stage every folder tsconfig.build.json compiles, and nothing .dockerignore drops', () => {
    const build = dockerStagesOf()[0]!;
    const sources = build.instructions.filter((i) => i.keyword === 'COPY' && !splitOptions(i.args).options.has('from'))
      .flatMap((i) => splitOptions(i.args).rest.split(/\s+/).slice(0, -1));
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(dockerIgnored(ignorePatterns(), src), `${src} is in .dockerignore`).toBe(false);
    }
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[]; extends?: string };
    for (const dir of tsconfig.include) expect(sources, dir).toContain(dir);
    for (const file of ['tsconfig.build.json', tsconfig.extends!.replace(/^\.\//, ''), 'package.json', 'package-lock.json']) expect(sources).toContain(file);
  });

  it('.dockerignore keeps dependencies, build output, data, git and tests out of the context', () => {
    for (const path of ['node_modules/level/package.json', 'dist/src/cli.js', 'data/admin-token', 'data/db/CURRENT', '.git/config', 'src/config.test.ts', 'deploy/Dockerfile']) {
      expect(dockerIgnored(ignorePatterns(), path), path).toBe(true);
    }
    expect(dockerIgnored(ignorePatterns(), 'src/config.ts')).toBe(false);
  });

  it('sets DOPPEL_HOST=0.0.0.0 and DOPPEL_DATA to the VOLUME', () => {
    expect(imageEnv().DOPPEL_HOST).toBe('0.0.0.0');
    const volume = execForm(last('VOLUME')!.args);
    expect(volume).toEqual([imageEnv().DOPPEL_DATA]);
  });

  it('EXPOSEs the HTTP port on TCP and the CoAP port on UDP', () => {
    const exposed = last('EXPOSE')!.args.split(/\s+/);
    expect(exposed).toEqual(expect.arrayContaining([`${effective(imageEnv(), 'DOPPEL_HTTP')}/tcp`, `${effective(imageEnv(), 'DOPPEL_COAP')}/udp`]));
  });

  it('runs as a numeric non-root USER that owns the data directory', () => {
    const user = /^(\d+)(?::(\d+))?$/.exec(last('USER')!.args);
    expect(user, 'numeric, so runAsNonRoot can verify it').not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const userAt = RUNTIME.instructions.indexOf(last('USER')!);
    const chown = RUNTIME.instructions.findIndex((i) => i.keyword === 'RUN' && i.args.includes(`chown ${last('USER')!.args} ${imageEnv().DOPPEL_DATA}`));
    expect(chown).toBeGreaterThanOrEqual(0);
    expect(chown).toBeLessThan(userAt);
  });

  it('HEALTHCHECK probes /healthz with node (no curl in a slim image), exec form, durations with units', () => {
    const { options, rest } = splitOptions(last('HEALTHCHECK')!.args);
    for (const key of ['interval', 'timeout', 'start-period']) expect(durationSeconds(options.get(key)!)).toBeGreaterThan(0);
    const command = execForm(rest.replace(/^CMD\s+/, ''));
    expect(command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(command![2]).toContain('/healthz');
  });

  it('stops with SIGTERM and runs exactly what `npm start` runs, in exec form', () => {
    expect(last('STOPSIGNAL')!.args).toBe('SIGTERM');
    const cmd = execForm(last('CMD')!.args);
    expect(cmd).toEqual(packageJson.scripts.start!.split(/\s+/));
  });

  it("the CMD's script exists after the build", () => {
    const script = execForm(last('CMD')!.args)!.find((a) => a.endsWith('.js'))!;
    expect(existsSync(join(ROOT, script)), `${script} (built by the vitest globalSetup)`).toBe(true);
  });
});
