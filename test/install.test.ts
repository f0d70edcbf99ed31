/**
 * What `npm ci` asks of a new user's machine: no Deno binary (a 92 MB download only the Deno test
 * run needs), and no "packages have install scripts not yet covered by allowScripts" warning: every
 * installed package with an install-time script is approved or refused in package.json.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

interface Manifest {
  name?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

const readManifest = async (dir: string): Promise<Manifest> => JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Every package directory under node_modules (scoped ones included, nested ones too). */
async function packageDirs(modules: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try { entries = await readdir(modules, { withFileTypes: true }); } catch { return out; }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(modules, entry.name);
    if (entry.name.startsWith('@')) { out.push(...await packageDirs(dir)); continue; }
    out.push(dir, ...await packageDirs(join(dir, 'node_modules')));
  }
  return out;
}

describe('npm ci', () => {
  it('does not install Deno for everyone', async () => {
    const pkg = await readManifest(root);
    for (const deps of [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies]) {
      expect(Object.keys(deps ?? {})).not.toContain('deno');
    }
  });

  it('has every install-time script approved or refused in allowScripts (no npm warning)', async () => {
    const { allowScripts = {} } = await readManifest(root);
    const unlisted: string[] = [];
    for (const dir of await packageDirs(join(root, 'node_modules'))) {
      let manifest: Manifest;
      try { manifest = await readManifest(dir); } catch { continue; }
      const scripts = manifest.scripts ?? {};
      const runs = ['preinstall', 'install', 'postinstall'].some((s) => Object.hasOwn(scripts, s));
      if (runs && manifest.name !== undefined && manifest.name !== 'deno' && !Object.hasOwn(allowScripts, manifest.name)) unlisted.push(manifest.name);
    }
    expect(unlisted).toEqual([]);
  });
});
