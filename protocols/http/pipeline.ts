/**
 * What every request goes through around its route's handler: its request id, its metrics,
 * bearer authentication under /v1, and errors as problem+json. A wrapper per route rather than
 * app-wide middleware (`app.use`): hono calls a route's lone handler directly, where any
 * middleware costs a chain of async dispatches on every request (~7 µs of a 31 µs GET measured on
 * a bare hono route). Unmatched paths get the same treatment in `notFound`.
 */
import type { Credentials } from '../../src/auth/index.ts';
import { DoppelError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { Counter, Histogram, Labels, MetricsRegistry } from '../../src/metrics/index.ts';
import { authenticate } from './auth.ts';
import type { AllowedMethods } from './methods.ts';
import { problemResponse } from './problem.ts';
import type { Ctx, Handler, RouteSpec } from './route.ts';

export interface PipelineDeps { credentials: Credentials; metrics: MetricsRegistry; logger: Logger }

export interface Pipeline {
  /** The handler as mounted: the request's id, credential, metrics and problem replies around `handler`. */
  wrap(spec: RouteSpec, handler: Handler): Handler;
  /** 404, or 405 with `Allow` on a known path (after authentication under /v1, as a route would). */
  notFound(c: Ctx, allowed: AllowedMethods): Promise<Response>;
  /** An error as problem+json carrying the request id; internal errors and refusals logged. */
  errorReply(err: unknown, c: Ctx): Response;
}

/** The label of paths no route matched: keeps the metrics' cardinality bounded. */
const UNMATCHED = 'unmatched';

export function createPipeline(deps: PipelineDeps): Pipeline {
  const requests = deps.metrics.counter({ name: 'doppel_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'] });
  const latency = deps.metrics.histogram({
    name: 'doppel_http_request_duration_seconds', help: 'HTTP request latency by method and route', labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  let nextRequestId = 0;
  const idPrefix = Math.random().toString(36).slice(2, 8);

  function begin(c: Ctx): string {
    const requestId = c.req.header('x-request-id') ?? `${idPrefix}-${(++nextRequestId).toString(36)}`;
    c.set('requestId', requestId);
    return requestId;
  }

  /**
   * The request id on a handler's reply. Added to the reply itself, not through `c.header` before
   * the handler (which would build a `Headers` for every request, and one added with `c.header`
   * afterwards makes hono rebuild the response around a stream body, costing @hono/node-server its
   * fast path); the hot routes' replies (reply.ts) carry it already.
   */
  function stamp(c: Ctx, res: Response, requestId: string): void {
    if (c.get('stamped') !== res) res.headers.set('x-request-id', requestId);
  }

  function errorReply(err: unknown, c: Ctx): Response {
    const { response, error } = problemResponse(err, c.req.path);
    // Unset only when reading the request's own id failed (begin threw).
    const requestId = c.get('requestId') as string | undefined;
    if (requestId !== undefined) response.headers.set('x-request-id', requestId);
    if (error.code === 'internal') deps.logger.error('request failed', { requestId, path: c.req.path, err });
    if (error.code === 'unavailable') deps.logger.warn('request refused', { requestId, path: c.req.path, reason: error.message });
    return response;
  }

  const observe = observer(requests, latency, deps.logger);

  /** Sets the request's principal; a promise only when the token is new and must be verified first. */
  function credential(c: Ctx): Promise<void> | undefined {
    // ?access_token= only where a header cannot be set (EventSource); elsewhere it would only
    // widen where tokens leak (URL logs, referrers).
    const principal = authenticate(deps.credentials, c.req.raw, c.req.path.endsWith('/events'));
    if (principal instanceof Promise) return principal.then((p) => { c.set('principal', p); });
    c.set('principal', principal);
    return undefined;
  }
  const unmatched = observe.route(UNMATCHED);

  return {
    wrap(spec, handler) {
      const route = observe.route(spec.path);
      const needsCredential = underV1(spec.path);
      return async (c) => {
        const started = performance.now();
        let res: Response;
        try {
          const requestId = begin(c);
          // A known token continues at once; only a first sighting waits for its verification.
          const verifying = needsCredential ? credential(c) : undefined;
          if (verifying !== undefined) await verifying;
          res = await handler(c);
          // hono answers HEAD with the GET handler's status and headers and drops its body unread:
          // an event stream or a backup would then hold its stream slot or store snapshot forever.
          // Cancelling the body runs the stream's own cleanup (RFC 9110 §9.3.2: HEAD sends no content).
          if (c.req.method === 'HEAD' && res.body !== null) res.body.cancel().catch(() => undefined);
          stamp(c, res, requestId);
        } catch (err) {
          res = errorReply(err, c);
        }
        route(c, res.status, started);
        return res;
      };
    },
    async notFound(c, allowed) {
      const started = performance.now();
      let res: Response;
      try {
        begin(c);
        if (underV1(c.req.path)) await credential(c);
        const methods = allowed(c.req.path);
        if (methods.length === 0) throw new DoppelError('not_found', `No route ${c.req.method} ${c.req.path}`);
        res = errorReply(new DoppelError('method_not_allowed', `Method ${c.req.method} not allowed on ${c.req.path}: use ${methods.join(', ')}`), c);
        res.headers.set('allow', methods.join(', '));
      } catch (err) {
        res = errorReply(err, c);
      }
      unmatched(c, res.status, started);
      return res;
    },
    errorReply,
  };
}

/** Status codes as label text, made once. */
const STATUS_TEXT: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));

/** Paths behind a bearer credential (as `/v1/*` matches in hono: /v1 itself too). */
const underV1 = (path: string) => path === '/v1' || path.startsWith('/v1/');

/**
 * The request metrics of one route label. Its label sets are made when its method or status
 * changes, not on every request: a route mostly answers one method with one status.
 */
function observer(requests: Counter, latency: Histogram, logger: Logger) {
  return {
    route(route: string) {
      let counted: Labels & { method: string; status: string } = { method: '', route, status: '' };
      let timed: Labels & { method: string } = { method: '', route };
      return (c: Ctx, status: number, started: number): void => {
        const seconds = (performance.now() - started) / 1000;
        const method = c.req.method;
        if (counted.method !== method || counted.status !== STATUS_TEXT[status]) counted = { method, route, status: String(status) };
        if (timed.method !== method) timed = { method, route };
        requests.inc(counted);
        latency.observe(timed, seconds);
        if (logger.enabled('debug')) {
          logger.debug('request', { requestId: c.get('requestId'), method, path: c.req.path, status, ms: Math.round(seconds * 1e4) / 10 });
        }
      };
    },
  };
}
