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
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

function isStale() {
  if (!existsSync(entry)) return true;
  const { include } = JSON.parse(readFileSync(buildConfig, 'utf8'));
  const sources = Math.max(
    ...include.map((folder) => newest(join(root, folder))),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(join(root, f)).mtimeMs),
  );
  return sources > statSync(entry).mtimeMs;
}

if (!existsSync(buildConfig) || !isStale()) process.exit(0);
if (!existsSync(tsc)) {
  if (existsSync(entry)) process.exit(0); // production install: run the dist/ that was shipped
  console.error('doppel: dist/ is not built and TypeScript is not installed: run `npm ci` (with dev dependencies) first');
  process.exit(1);
}
try {
  // --noEmitOnError: a failed build leaves dist/ as it was, so the next start tries again.
  execFileSync(process.execPath, [tsc, '-p', buildConfig, '--noEmitOnError'], { cwd: root, stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}
