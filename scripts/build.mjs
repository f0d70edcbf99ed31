#!/usr/bin/env node
/**
 * Compiles the TypeScript sources to dist/ when dist/ is missing or older than a source file, so
 * `npm ci` (the `prepare` script) builds once and `npm start` (`prestart`) starts without
 * rebuilding, yet never runs stale code after a `git pull` or an edit. Plain JavaScript: it runs
 * before anything is compiled, on every Node version the package supports.
 *
 * A production install (`npm ci --omit=dev`) has no TypeScript: then there is nothing to build
 * with, and a dist/ copied in beforehand (deploy/Dockerfile) is used as it is.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'src', 'cli.js');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const buildConfig = join(root, 'tsconfig.build.json');

/** The newest modification time under `dir` (ms), 0 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return latest;
}

/** True when `output` is missing or older than any of `inputs` (folders or files under root). */
function isStale(output, inputs) {
  if (!existsSync(output)) return true;
  const sources = Math.max(...inputs.map((p) => join(root, p)).map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)));
  return sources > statSync(output).mtimeMs;
}

/** Runs a build step with this Node; a failure exits 1 (the step has printed its errors). */
function run(args) {
  try {
    execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  } catch {
    process.exit(1);
  }
}

if (!existsSync(buildConfig)) process.exit(0);
const { include } = JSON.parse(readFileSync(buildConfig, 'utf8'));
const serverStale = isStale(entry, [...include, 'tsconfig.json', 'tsconfig.build.json', 'package.json']);
// The web console is a separate bundle (console/build.mjs, esbuild): rebuilt only when its own sources changed.
const consoleManifest = join(root, 'dist', 'console', 'manifest.json');
const consoleStale = existsSync(join(root, 'console', 'build.mjs')) && isStale(consoleManifest, ['console', 'package.json']);
if (!serverStale && !consoleStale) process.exit(0);
if (!existsSync(tsc)) {
  if (existsSync(entry)) process.exit(0); // production install: run the dist/ that was shipped
  console.error('doppel: dist/ is not built and TypeScript is not installed: run `npm ci` (with dev dependencies) first');
  process.exit(1);
}
// --noEmitOnError: a failed build leaves dist/ as it was, so the next start tries again.
if (serverStale) {
  run([tsc, '-p', buildConfig, '--noEmitOnError']);
  // package.json names it as the `doppel` bin: npm marks a bin executable when it installs a
  // package, but nothing does in a checkout, and tsc writes new files without the exec bit.
  if (existsSync(entry)) chmodSync(entry, 0o755);
}
if (consoleStale) run([join(root, 'console', 'build.mjs'), '--quiet']);
