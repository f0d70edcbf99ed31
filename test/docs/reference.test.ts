/**
 * The protocol reference in docs/reference/ is complete and self-contained: every error code, every
 * limit setting, every HTTP route and every WebSocket op appears in it, its local links resolve, and
 * neither it nor the README points outside the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { describeConfig } from '../../src/config.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { linkFormat } from '../../protocols/coap/link-format.ts';
import { OPS } from '../../protocols/ws/messages.ts';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';

const REFERENCE = ['http.md', 'websocket.md', 'coap.md', 'errors.md', 'limits.md'].map((name) => `docs/reference/${name}`);
const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
const markdown = (dir: string): string[] => readdirSync(join(projectRoot, dir), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.md')).map((name) => join(dir, name));

/** Settings that bound something (sizes, rates, counts, times) and so belong in limits.md. */
const LIMIT_SETTING = /^--(max-|ws-max-|coap-max-)|-(bytes|rate|burst|seconds|retention|cache-size|confirm-every|ack-timeout-ms)$|^--max-depth$|^--max-key-length$/;

describe('the protocol reference', () => {
  it('has one page per protocol, for errors and for limits, each linked from the README', () => {
    const readme = read('README.md');
    for (const file of REFERENCE) {
      expect(existsSync(join(projectRoot, file)), file).toBe(true);
      expect(readme, file).toContain(`](${file})`);
    }
  });

  it('never points outside the repository, in the README, docs or examples', () => {
    const files = ['README.md', ...markdown('docs'), ...readdirSync(join(projectRoot, 'examples')).map((name) => `examples/${name}`)];
    for (const file of files) {
      const text = read(file);
      expect(text, file).not.toMatch(/shared\//);
      expect(text, file).not.toMatch(/CONTRACT/);
    }
  });

  it('has local links that resolve', () => {
    for (const file of [...markdown('docs'), 'README.md']) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // an absolute URL
        expect(existsSync(join(projectRoot, dirname(file), target!)), `${file} → ${target}`).toBe(true);
      }
    }
  });

  it('documents every error code with its HTTP status and CoAP code', () => {
    const errors = read('docs/reference/errors.md');
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(errors, code).toMatch(new RegExp(`^\\| \`${code}\` \\| ${spec.http} \\| ${spec.coap.replace('.', '\\.')} \\|`, 'm'));
    }
  });

  it('documents every limit setting', () => {
    const limits = read('docs/reference/limits.md');
    const settings = describeConfig().map((s) => s.flag).filter((flag) => LIMIT_SETTING.test(flag));
    expect(settings.length).toBeGreaterThan(20);
    for (const flag of settings) expect(limits, flag).toContain(`\`${flag}\``);
  });

  it('documents every WebSocket request op', () => {
    const websocket = read('docs/reference/websocket.md');
    for (const op of OPS) expect(websocket, op).toContain(`{"op":"${op}"`);
  });

  it('documents every CoAP resource the server lists in /.well-known/core, with its resource type', () => {
    const coap = read('docs/reference/coap.md');
    const links = linkFormat('ID').split(',').map((link) => /^<([^>]+)>;rt="([^"]+)"/.exec(link)!);
    expect(links).toHaveLength(5);
    for (const [, path, rt] of links) {
      expect(coap, path).toContain(`${path!.replace('/t/ID', '/t/{id}')}\``);
      expect(coap, rt).toContain(`\`${rt}\``);
    }
  });

  describe('HTTP routes', () => {
    let t: TestServer;
    beforeAll(async () => { t = await startTestServer(); });
    afterAll(async () => { await t?.stop(); });

    it('documents every route the server serves (from its OpenAPI document)', async () => {
      const doc = await (await t.call('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
      const http = read('docs/reference/http.md');
      const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
      expect(routes.length).toBeGreaterThan(15);
      for (const route of routes) expect(http, route).toContain(`\`${route}\``);
    });

    it('lists the statuses of every route as its OpenAPI document does (500 and 405 apply to all)', async () => {
      const doc = await (await t.call('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      const lines = read('docs/reference/http.md').split('\n');
      const specific = (codes: string[]) => codes.filter((code) => code !== '405' && code !== '500').sort();
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(methods)) {
          const route = `${method.toUpperCase()} ${path}`;
          const row = lines.find((line) => line.startsWith(`| \`${route}\` | `) && /\| [\d, ]+ \|$/.test(line));
          expect(row, route).toBeDefined();
          const listed = row!.split('|')[2]!.split(',').map((code) => code.trim());
          expect(specific(listed), route).toEqual(specific(Object.keys(op.responses)));
        }
      }
    });
  });
});
