/**
 * Right after `npm ci` (whose `prepare` script builds dist/), the `doppel` program that package.json
 * names as its bin runs and knows its version: `npx doppel --version` in the checkout, the bin file
 * executed directly (shebang and exec bit), and the `version` command.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string; bin: { doppel: string } };
const env = { ...process.env, NO_COLOR: '1' };

describe('doppel --version', () => {
  it('npx doppel --version prints the package version', async () => {
    const { stdout } = await run('npx', ['--no-install', 'doppel', '--version'], { cwd: projectRoot, env, timeout: 30_000 });
    expect(stdout).toBe(`${pkg.version}\n`);
  });

  it('the bin file itself answers -v, --version and version alike', async () => {
    const bin = join(projectRoot, pkg.bin.doppel);
    for (const flag of ['-v', '--version', 'version']) {
      const { stdout } = await run(bin, [flag], { cwd: projectRoot, env, timeout: 20_000 });
      expect(stdout).toBe(`${pkg.version}\n`);
    }
  });
});
