import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../src/config.ts';
import { ERROR_CODES } from '../src/errors.ts';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code with its HTTP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${spec.http} \\|`));
    }
  });

  it('documents every setting with its flag, environment variable and default', () => {
    for (const s of describeConfig()) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.flag}\` |`));
      expect(row, s.flag).toBeDefined();
      expect(row).toContain(`\`${s.env}\``);
      if (s.default !== undefined) expect(row).toContain(`\`${JSON.stringify(s.default)}\``);
    }
  });

  it('calls only packages of package.json its dev dependencies, here and in deploy/', async () => {
    const { devDependencies } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
    const deploy = await readFile(new URL('../deploy/README.md', import.meta.url), 'utf8');
    for (const [, name] of `${readme}\n${deploy}`.matchAll(/`([@\w./-]+)` dev dependency/g)) expect(Object.keys(devDependencies)).toContain(name);
    expect(deploy).not.toMatch(/Deno never reach/); // Deno is no dependency at all
  });

  it('names every top-level folder in its project layout', async () => {
    const layout = readme.slice(readme.indexOf('## Project layout')).split('```')[1]!;
    // The folders in git: not node_modules, dist, data or a restore a reader made in the checkout.
    const tracked = execFileSync('git', ['ls-files'], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    const folders = new Set(tracked.split('\n').filter((f) => f.includes('/') && !f.startsWith('.')).map((f) => f.split('/')[0]!));
    expect(folders.size).toBeGreaterThan(8);
    for (const name of folders) expect(layout, name).toMatch(new RegExp(`^${name}/?`, 'm'));
  });

  it('starts with a two-command quick start', () => {
    const start = readme.indexOf('## Quick start');
    const block = readme.slice(start).split('```')[1]!.replace(/^\w*\n/, '').trim().split('\n');
    expect(block).toHaveLength(2);
    expect(block[0]).toMatch(/^npm ci && npm start/);
    expect(block[1]).toMatch(/^npm ci && npm test/);
  });
});
