import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { EXAMPLES, exampleBlocks, withExamples } from './readme-examples.ts';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

describe('README examples', () => {
  it('show every walkthrough of examples/ once, in order', () => {
    expect(exampleBlocks(readme)).toEqual([...EXAMPLES]);
    const files = readdirSync(join(projectRoot, 'examples')).map((name) => `examples/${name}`).sort();
    expect(files).toEqual([...EXAMPLES].sort()); // a new example must be shown and run too
  });

  // On a difference: `npx vitest run test/docs/readme-examples.test.ts -u` copies the files in.
  it('are verbatim copies of the files', async () => {
    const rendered = withExamples(readme, (file) => readFileSync(join(projectRoot, file), 'utf8'));
    await expect(rendered).toMatchFileSnapshot('../../README.md');
  });
});
