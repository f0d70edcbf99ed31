import { readFile } from 'node:fs/promises';
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

  it('starts with a two-command quick start', () => {
    const start = readme.indexOf('## Quick start');
    const block = readme.slice(start).split('```')[1]!.replace(/^\w*\n/, '').trim().split('\n');
    expect(block).toHaveLength(2);
    expect(block[0]).toMatch(/^npm ci && npm start/);
    expect(block[1]).toMatch(/^npm ci && npm test/);
  });
});
