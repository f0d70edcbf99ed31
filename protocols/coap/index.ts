/**
 * @module
 * The CoAP edge (CONTRACT §6), UDP port 5683 by default: constrained devices read their twin,
 * observe desired and delta (RFC 7641), and report state, in JSON or CBOR, block-wise when big
 * (RFC 7959). Resource logic (`resources.ts`, `observe.ts`) sees only the transport seam
 * (`transport.ts`); `transport-dgram.ts` implements it on raw `node:dgram` (`transport-node-coap.ts`
 * on node-coap with `--coap-engine node-coap`), both with `block1.ts` reassembling Block1 uploads
 * from clients that change the token per block (libcoap).
 *
 * @example
 * ```ts
 * const coap = createCoapEndpoint({ twins, credentials, logger, metrics, maxBodyBytes: 262144,
 *   cacheSize: 8_388_608, confirmEvery: 16, confirmSeconds: 60, maxObservers: 100_000,
 *   ackTimeoutMs: 2000, maxRetransmit: 4 });
 * const port = await coap.listen('127.0.0.1', 5683);
 * // on shutdown:
 * await coap.close();
 * ```
 */
import type { TwinService } from '../../actors/index.ts';
import type { Credentials } from '../../src/auth/index.ts';
import type { Logger } from '../../src/log.ts';
import type { MetricsRegistry } from '../../src/metrics/index.ts';
import { CommandObservers } from './commands.ts';
import { ObserveRegistry } from './observe.ts';
import { createResourceHandler } from './resources.ts';
import { createDgramTransport } from './transport-dgram.ts';
import { createNodeCoapTransport } from './transport-node-coap.ts';
import type { CoapTransport, EngineOptions } from './transport.ts';

export type { CoapEndpoint, CoapExchange, CoapRequest, CoapResponse, CoapTransport, Observation } from './transport.ts';

export interface CoapEdgeOptions {
  twins: TwinService;
  credentials: Credentials;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Largest request body, also the bound of a Block1 reassembly. */
  maxBodyBytes: number;
  /** The message layer: Doppel's own on `node:dgram` (default) or node-coap (fallback). */
  engine?: 'lean' | 'node-coap';
  /** Duplicate-detection cache bound, in bytes of remembered replies. */
  cacheSize: number;
  confirmEvery: number;
  confirmSeconds: number;
  maxObservers: number;
  maxObserversPerTwin: number;
  ackTimeoutMs: number;
  maxRetransmit: number;
  /** Another engine behind the seam (tests, a leaner transport); node-coap by default. */
  transport?: CoapTransport;
}

export interface CoapEdge {
  /** Binds the UDP port; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Ends every observation, stops answering and closes the socket. */
  close(): Promise<void>;
}

export function createCoapEndpoint(opts: CoapEdgeOptions): CoapEdge {
  const { logger } = opts;
  const requests = opts.metrics.counter({ name: 'doppel_coap_requests_total', help: 'CoAP requests answered, by method and response code', labelNames: ['method', 'code'] });
  const latency = opts.metrics.histogram({
    name: 'doppel_coap_request_duration_seconds', help: 'CoAP request latency (handler to answer; writes include their commit) by method', labelNames: ['method'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const observationsEnded = opts.metrics.counter({ name: 'doppel_coap_observations_ended_total', help: 'CoAP observations ended, by reason (reset, timeout, closed)', labelNames: ['reason'] });
  for (const reason of ['reset', 'timeout', 'closed']) observationsEnded.inc({ reason }, 0);
  const observers = new ObserveRegistry({
    twins: opts.twins, confirmEvery: opts.confirmEvery, confirmMs: opts.confirmSeconds * 1000, maxObservers: opts.maxObservers, maxObserversPerTwin: opts.maxObserversPerTwin,
    onEnd: (why) => observationsEnded.inc({ reason: why }),
  });
  opts.metrics.gauge({ name: 'doppel_coap_observations', help: 'CoAP observe relations held', collect: () => observers.size });
  const engine: EngineOptions = {
    // RFC 7252 §5.2.2: answer in the ACK when the handler is quick; well under ACK_TIMEOUT (2 s)
    // so the client does not retransmit, long enough to cover a LevelDB commit under load.
    piggybackMs: 500,
    block1: { maxBytes: opts.maxBodyBytes, maxTransfers: 10_000, idleMs: 60_000 },
    ackTimeoutMs: opts.ackTimeoutMs,
    maxRetransmit: opts.maxRetransmit,
    onError: (err) => logger.error('coap transport failed', { err }),
  };
  const transport = opts.transport ?? (opts.engine === 'node-coap'
    // node-coap counts its cache in a way that lets it grow far past the bound: keep it small.
    ? createNodeCoapTransport({ ...engine, cacheSize: Math.min(opts.cacheSize, 65_536) })
    : createDgramTransport({ ...engine, cacheBytes: opts.cacheSize }));
  let closing = false;
  const commandObservers = new CommandObservers({ maxTotal: opts.maxObservers, maxPerTwin: opts.maxObserversPerTwin });
  const handler = createResourceHandler({
    twins: opts.twins, credentials: opts.credentials, observers, commandObservers, maxBodyBytes: opts.maxBodyBytes,
    isClosing: () => closing,
    onInternalError: (err, r) => logger.error('coap request failed', { err, method: r.method, path: `/${r.path.join('/')}` }),
    onAnswered: (method, code, seconds) => {
      requests.inc({ method, code });
      latency.observe({ method }, seconds);
    },
  });
  return {
    listen: (host, port) => transport.listen(host, port, handler),
    async close() {
      closing = true;
      observers.close();
      commandObservers.close();
      await transport.close();
    },
  };
}
