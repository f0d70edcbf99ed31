/**
 * The image, assembled without a container engine: the build context as .dockerignore leaves it,
 * the build stage's COPY and RUN lines (but `npm ci`, whose dev install the repository's own
 * node_modules stands in for), the runtime stage's real `npm ci --omit=dev` into an empty folder,
 * then the CMD with the image's ENV. Proves: the context holds what the build needs, production
 * dependencies suffice, the HEALTHCHECK command works, the server writes only to its data
 * directory (read-only root filesystem), and SIGTERM exits 0 within the grace period.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerIgnored, durationSeconds, execForm, splitOptions } from './parse.ts';
import type { Stage } from './parse.ts';
import { ROOT, composeService, dockerStagesOf, imageEnv, packageJson, read } from './recipes.ts';

const patterns = read('.dockerignore').split('\n');
const stages = dockerStagesOf();
const build = stages[0]!;
const runtime = stages.at(-1)!;
const args = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** Executes a stage's COPY lines from the build context (or `--from` a stage folder) into `workdir`. */
function copyInto(stage: Stage, workdir: string, stageDirs: Map<string, string>): void {
  for (const raw of args(stage, 'COPY')) {
    const { options, rest } = splitOptions(raw);
    const parts = rest.split(/\s+/);
    const dest = parts.pop()!;
    for (const src of parts) {
      const from = options.get('from');
      // A path inside another stage is relative to its WORKDIR (/app here).
      const source = from === undefined ? join(ROOT, src) : join(stageDirs.get(from)!, relative('/app', src));
      const target = resolve(workdir, dest.endsWith('/') ? join(dest, basename(src)) : dest);
      cpSync(source, target, { recursive: true, filter: (s) => from !== undefined || !dockerIgnored(patterns, relative(ROOT, s)) });
    }
  }
}

/** The `&&`-separated commands of a stage's RUN lines. */
const commands = (stage: Stage) => args(stage, 'RUN').flatMap((r) => r.split('&&').map((c) => c.trim()));
const sh = (command: string, cwd: string) => execFileSync('sh', ['-c', command], { cwd, stdio: 'pipe', encoding: 'utf8' });

/** Files under `dir` (not following node_modules) with their sizes, to see what a run wrote. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'))
    .map((f) => `${f}:${statSync(join(dir, f)).isFile() ? statSync(join(dir, f)).size : 'dir'}`).sort();
}

/** Bare package names imported by the modules reachable from `entry` through relative imports. */
function importedPackages(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // Doc comments quote imports too (`@example`), so drop comments first.
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return packages;
}

/** Runs the HEALTHCHECK command against `port`; resolves to its exit code. */
function healthcheck(port: number): number | null {
  const hc = args(runtime, 'HEALTHCHECK').at(-1)!;
  const [program, ...rest] = execForm(splitOptions(hc).rest.replace(/^CMD\s+/, ''))!;
  expect(program).toBe('node');
  return spawnSync(process.execPath, rest, { env: { PATH: process.env.PATH, DOPPEL_HTTP: String(port) }, timeout: 15_000 }).status;
}

describe('the image, assembled and run without a container engine', () => {
  let dir: string;
  const paths = () => ({ build: join(dir, 'build'), app: join(dir, 'app'), data: join(dir, 'data'), home: join(dir, 'home'), tmp: join(dir, 'tmp') });
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'doppel-image-'));
    const p = paths();
    for (const d of [p.build, p.app, p.home, p.tmp]) mkdirSync(d);
    copyInto(build, p.build, new Map());
    symlinkSync(join(ROOT, 'node_modules'), join(p.build, 'node_modules'));
    for (const cmd of commands(build).filter((c) => !/^npm ci\b/.test(c))) sh(cmd, p.build);
    copyInto(runtime, p.app, new Map([[build.name!, p.build]]));
    // Only `npm ci` runs here: `npm cache clean` would empty this machine's cache, mkdir/chown
    // of /data are root's business. --prefer-offline: from the cache `npm ci` filled, if it did.
    for (const cmd of commands(runtime).filter((c) => /^npm ci\b/.test(c))) sh(`${cmd} --prefer-offline`, p.app);
  }, 240_000);

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the build produced the CMD script, and the runtime has production dependencies only', () => {
    const script = execForm(args(runtime, 'CMD').at(-1)!)!.find((a) => a.endsWith('.js'))!;
    expect(existsSync(join(paths().app, script))).toBe(true);
    const installed = readdirSync(join(paths().app, 'node_modules'));
    for (const dep of Object.keys(packageJson.dependencies)) expect(installed, dep).toContain(dep.split('/')[0]);
    expect(installed).not.toContain('typescript');
    expect(installed).not.toContain('vitest');
  });

  it('every package the server imports is a production dependency', () => {
    const script = execForm(args(runtime, 'CMD').at(-1)!)!.find((a) => a.endsWith('.js'))!;
    const imported = [...importedPackages(join(paths().app, script))];
    // The scan reaches the store and, through the runtime's dynamic import, the Node adapter.
    expect(imported).toEqual(expect.arrayContaining(['level', '@hono/node-server', 'ws']));
    expect(imported.filter((p) => !(p in packageJson.dependencies))).toEqual([]);
  });

  it('the CMD serves with the image ENV: healthcheck passes, token generated, SIGTERM exits 0 in time', async () => {
    const p = paths();
    const before = snapshot(p.app);
    const [program, ...cmd] = execForm(args(runtime, 'CMD').at(-1)!)!;
    expect(program).toBe('node');
    // The image's ENV; loopback and free ports instead of 0.0.0.0:8080, a temp dir for /data.
    const env = { ...imageEnv(), PATH: process.env.PATH!, HOME: p.home, TMPDIR: p.tmp, DOPPEL_HOST: '127.0.0.1', DOPPEL_HTTP: '0', DOPPEL_COAP: '0', DOPPEL_DATA: p.data };
    child = spawn(process.execPath, cmd, { cwd: p.app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => child!.once('exit', (code) => done(code)));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no "listening" line: ${stderr}`)), 30_000);
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; http?: number };
          if (entry.msg === 'listening' && typeof entry.http === 'number') { clearTimeout(timer); done(entry.http); }
        } catch { /* not a log line */ }
      });
      void exited.then((code) => { clearTimeout(timer); fail(new Error(`exited with ${code}: ${stderr}`)); });
    });

    expect(healthcheck(port)).toBe(0);
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
    expect(statSync(join(p.data, 'admin-token')).mode & 0o777).toBe(0o600);

    const grace = durationSeconds(composeService().stop_grace_period);
    const started = Date.now();
    child.kill(args(runtime, 'STOPSIGNAL').at(-1) as NodeJS.Signals);
    expect(await exited).toBe(0);
    expect((Date.now() - started) / 1000).toBeLessThan(grace);
    expect(healthcheck(port)).toBe(1);

    // Nothing written outside the data directory: a read-only root filesystem is enough.
    expect(snapshot(p.app)).toEqual(before);
    expect(readdirSync(p.home)).toEqual([]);
    expect(readdirSync(p.tmp)).toEqual([]);
  }, 60_000);
});
