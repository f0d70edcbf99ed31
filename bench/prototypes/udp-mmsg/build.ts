/**
 * Builds the prototype addon with npm's own bundled node-gyp and the running Node's installed
 * headers (nothing downloaded), unless build/Release/udp_mmsg.node is newer than its source.
 * `npm ci` never runs this: the addon is bench-only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ADDON_DIR, ADDON_FILE } from './mmsg-socket.ts';

const prefix = join(dirname(process.execPath), '..');

function nodeGyp(): string {
  const bundled = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return bundled;
  if (process.env.npm_config_node_gyp !== undefined && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  throw new Error(`npm's bundled node-gyp not found at ${bundled}; run this under npm or build by hand in ${ADDON_DIR}`);
}

export function ensureAddon(log: (line: string) => void): void {
  const source = join(ADDON_DIR, 'udp_mmsg.c');
  if (existsSync(ADDON_FILE) && statSync(ADDON_FILE).mtimeMs >= statSync(source).mtimeMs) return;
  // Headers of the running Node when installed beside it (Debian/NodeSource /usr/include/node).
  const headers = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  log(`building ${ADDON_FILE} …`);
  execFileSync(process.execPath, [nodeGyp(), 'rebuild', ...headers], { cwd: ADDON_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
}
