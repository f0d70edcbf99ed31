/**
 * Operational endpoints: liveness, readiness and Prometheus metrics — no credential needed
 * (metrics can be configured to require one).
 */
import type { Hono } from 'hono';
import type { Credentials } from '../../../src/auth/index.ts';
import { CONTENT_TYPE } from '../../../src/metrics/index.ts';
import type { MetricsRegistry } from '../../../src/metrics/index.ts';
import { authenticate } from '../auth.ts';
import { register } from '../route.ts';
import type { Env, RouteTable } from '../route.ts';
import { Health } from '../schemas.ts';
import { problems } from './problems.ts';

export interface OpsDeps { metrics: MetricsRegistry; metricsAuth: boolean; credentials: Credentials; isReady: () => boolean }

export function opsRoutes(app: Hono<Env>, table: RouteTable, deps: OpsDeps): void {
  register(app, table, {
    method: 'get', path: '/healthz', tag: 'Operations', auth: 'none', summary: 'Liveness',
    responses: { 200: { description: 'The process is up', schema: Health } },
  }, (c) => c.json({ status: 'ok' }));

  register(app, table, {
    method: 'get', path: '/readyz', tag: 'Operations', auth: 'none', summary: 'Readiness',
    description: '200 once the store is open and the server accepts requests; 503 while starting or draining.',
    responses: { 200: { description: 'Ready', schema: Health }, 503: { description: 'Not ready', schema: Health } },
  }, (c) => (deps.isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'unavailable' }, 503)));

  register(app, table, {
    method: 'get', path: '/metrics', tag: 'Operations', auth: 'none', summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format 0.0.4', contentType: CONTENT_TYPE }, ...problems(401) },
  }, async (c) => {
    if (deps.metricsAuth) await authenticate(deps.credentials, c.req.raw);
    return c.body(deps.metrics.render(), 200, { 'content-type': CONTENT_TYPE });
  });
}
