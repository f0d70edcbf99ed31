/**
 * Every YAML file in deploy/ parses, without duplicate keys, and means the same in YAML 1.1
 * (Kubernetes' go-yaml, Compose v1) as in YAML 1.2 (Compose v2, most editors): unquoted `yes`,
 * `0600` or `5683:5683` would silently differ between the two.
 */
import { describe, expect, it } from 'vitest';
import { parseYaml } from './parse.ts';
import { read, yamlFiles } from './recipes.ts';

describe('deploy/ YAML', () => {
  it('has the recipes the deploy README describes', () => {
    expect(yamlFiles()).toEqual(expect.arrayContaining([
      'deploy/compose.yaml', 'deploy/kubernetes/kustomization.yaml', 'deploy/kubernetes/secret.example.yaml',
      'deploy/kubernetes/service.yaml', 'deploy/kubernetes/statefulset.yaml',
    ]));
  });

  for (const file of yamlFiles()) {
    it(`${file} parses to the same data in YAML 1.1 and 1.2`, () => {
      const text = read(file);
      const modern = parseYaml(text, '1.2');
      expect(modern.length).toBeGreaterThan(0);
      for (const doc of modern) expect(doc).toBeTypeOf('object');
      expect(parseYaml(text, '1.1')).toEqual(modern);
    });
  }

  it('the parser refuses duplicate keys and YAML that 1.1 reads differently (negative control)', () => {
    expect(() => parseYaml('a: 1\na: 2\n')).toThrow();
    expect(parseYaml('mode: 0600\non: yes\n', '1.1')).not.toEqual(parseYaml('mode: 0600\non: yes\n', '1.2'));
  });
});
