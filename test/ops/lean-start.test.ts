/**
 * A single-node start (LevelDB) does not load the cluster code or the NATS client: they are
 * imported only in cluster mode or when a NATS connector first delivers. Proven on a real
 * `doppel serve` process under Node with a module-resolution hook that logs every module loaded.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../bench/server-command.ts';
import { startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';

const hook = pathToFileURL(join(projectRoot, 'test', 'support', 'module-log.mjs')).href;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c(); });

describe('single-node start', () => {
  it('loads neither the cluster code nor the NATS client', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const server: ChildServer = await startChildServer(dir.path, [], { NODE_OPTIONS: `--import=${hook}` }, 'node');
    cleanups.push(() => server.kill());
    const loaded = server.stderr().split('\n').filter((l) => l.startsWith('resolved ')).map((l) => l.slice('resolved '.length));
    // The hook saw the start: the store and the HTTP server were loaded.
    expect(loaded.some((url) => url.includes('/node_modules/level/'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/dist/src/server.js'))).toBe(true);
    expect(loaded.filter((url) => url.includes('/@nats-io/') || url.includes('/src/cluster/cluster-node') || url.includes('/src/store/jetstream/'))).toEqual([]);
  });
});
