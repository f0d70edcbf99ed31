import { Hono } from 'hono';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problemResponse } from '../problem.ts';
import type { Env, RouteTable } from '../route.ts';
import { consoleRoutes } from './console.ts';

describe('console routes without a built bundle', () => {
  it('answer 503 unavailable saying how to build it, and change nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doppel-console-'));
    try {
      const app = new Hono<Env>();
      const table: RouteTable = { specs: [] };
      consoleRoutes(app, table, { dir: join(dir, 'missing') });
      app.onError((err, c) => problemResponse(err, c.req.path).response);
      for (const path of ['/console', '/console/assets/main-X.js']) {
        const res = await app.request(path);
        expect(res.status, path).toBe(503);
        const body = await res.json() as { code: string; detail: string };
        expect(body.code).toBe('unavailable');
        expect(body.detail).toBe('console not built: run npm run build');
      }
      expect(table.specs.map((s) => s.path)).toEqual(['/console', '/console/assets/:name']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
