/**
 * Observe relations (RFC 7641) on `/t/{id}/desired` and `/t/{id}/delta`. Each relation holds a
 * twin stream (actors/stream.ts) taken at a consistent cut, so it gets exactly the changes after
 * the state it answered with, in version order, and, for a device, the stream holds an attachment
 * that keeps the twin online and resident. Notifications go out only when the observed part
 * changed. Frames are encoded once per change event, resource and format, however many observers
 * share them.
 */
import { openTwinStream, StreamCloser } from '../../actors/index.ts';
import type { StreamItem, TwinService } from '../../actors/index.ts';
import { deepEqual } from '../../src/twin/index.ts';
import type { ChangeEvent, JsonObject, TwinState } from '../../src/twin/types.ts';
import { diagnostic } from './errors.ts';
import { encodeBody } from './formats.ts';
import type { Format } from './formats.ts';
import type { CoapEndpoint, CoapExchange, Observation, ObservationEnd } from './transport.ts';

export type Observable = 'desired' | 'delta';

export interface ObserveOptions {
  twins: TwinService;
  /** RFC 7641 §4.5: at least one confirmable notification every `confirmEvery` notifications … */
  confirmEvery: number;
  /** … or every `confirmMs`, whichever comes first. */
  confirmMs: number;
  maxObservers: number;
  /** Relations on one twin at most: one misbehaving device cannot take the whole budget. */
  maxObserversPerTwin: number;
  now?: () => number;
  onEnd?: (why: ObservationEnd) => void;
}

interface Relation {
  key: string;
  endpoint: CoapEndpoint;
  token: string;
  observation: Observation | null;
  last: JsonObject;
  sent: number;
  lastConfirmable: number;
  release(): void;
}

/** Max-Age of the 5.03 that ends observations at shutdown: a restart usually takes a few seconds. */
const SHUTDOWN_RETRY_SECONDS = 5;

const frames = new WeakMap<ChangeEvent, Map<string, Uint8Array>>();

export class ObserveRegistry {
  readonly #opts: Required<Omit<ObserveOptions, 'onEnd'>> & Pick<ObserveOptions, 'onEnd'>;
  readonly #relations = new Map<string, Relation>();
  /** `address:port|token` → relation key, for deregistration (RFC 7641 §3.6 / §4.1). */
  readonly #byEndpoint = new Map<string, string>();
  /** Registrations between the cap check and holding their relation. */
  #registering = 0;
  /** Twin id → relations held or being registered on it. */
  readonly #perTwin = new Map<string, number>();

  constructor(opts: ObserveOptions) {
    this.#opts = { now: () => Date.now(), ...opts };
  }

  get size(): number { return this.#relations.size; }

  /**
   * Registers (or, RFC 7641 §4.1, re-registers) an observation and answers `exchange`. The same
   * device, token and resource from a new address or port (NAT rebinding) replaces the old
   * relation. Returns false when the registry is full: the caller then answers a plain GET.
   */
  async register(exchange: CoapExchange, who: string, id: string, part: Observable, format: Format, device: boolean): Promise<boolean> {
    const { request } = exchange;
    const key = `${who}|${id}/${part}|${request.token}`;
    this.#relations.get(key)?.observation?.end();
    // Registrations still awaiting their subscription count too, so concurrent ones cannot
    // overshoot the cap.
    if (this.#relations.size + this.#registering >= this.#opts.maxObservers) return false;
    const onTwin = this.#perTwin.get(id) ?? 0;
    if (onTwin >= this.#opts.maxObserversPerTwin) return false;
    this.#perTwin.set(id, onTwin + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      const n = (this.#perTwin.get(id) ?? 1) - 1;
      if (n === 0) this.#perTwin.delete(id); else this.#perTwin.set(id, n);
    };
    const stream = new StreamCloser();
    const endpointKey = `${request.endpoint.address}:${request.endpoint.port}|${request.token}`;
    let relation: Relation | null = null;
    // The relation is made and answered at the cut (`onStart`, before any item), so every later
    // item is a notification to it; the stream's first item, the snapshot, is that same state.
    const answer = (state: TwinState) => {
      const r: Relation = {
        key, endpoint: request.endpoint, token: request.token, observation: null, last: state[part], sent: 0,
        lastConfirmable: this.#opts.now(),
        release: () => { stream.close(); uncount(); },
      };
      // Another registration of the same key may have landed while we awaited: the newest wins.
      this.#relations.get(key)?.observation?.end();
      this.#relations.set(key, r);
      this.#byEndpoint.set(endpointKey, key);
      const observation = exchange.accept({ code: '2.05', contentFormat: format, payload: encodeBody(r.last, format) });
      r.observation = observation;
      observation.onEnd((why) => {
        r.release();
        if (this.#relations.get(key) === r) this.#relations.delete(key);
        if (this.#byEndpoint.get(endpointKey) === key) this.#byEndpoint.delete(endpointKey);
        this.#opts.onEnd?.(why);
      });
      relation = r;
    };
    this.#registering++;
    try {
      await openTwinStream(this.#opts.twins, id, { ...(device ? { attach: 'coap' as const } : {}), closer: stream, onStart: answer }, (item) => {
        if (relation !== null) this.#onItem(relation, part, format, item);
      });
    } catch (err) {
      // Failed before answering (e.g. `not_found`): nothing is held. After, the relation ends.
      if (relation === null) uncount(); else (relation as Relation).observation?.end();
      throw err;
    } finally {
      this.#registering--;
    }
    return true;
  }

  /** RFC 7641 §3.6: a GET with Observe=1 (or any new request with that token) ends the relation. */
  cancel(endpoint: CoapEndpoint, token: string): void {
    const key = this.#byEndpoint.get(`${endpoint.address}:${endpoint.port}|${token}`);
    if (key !== undefined) this.#relations.get(key)?.observation?.end();
  }

  /**
   * Ends every relation (server shutdown) with a final 5.03 notification: an error notification
   * ends the observation on the device's side too (RFC 7641 §3.2), and Max-Age says when to
   * register again (RFC 7252 §5.9.3.4), instead of leaving the device waiting for notifications
   * that will never come. Non-confirmable: the socket closes right after.
   */
  close(): void {
    const payload = diagnostic('unavailable', 'Server shutting down');
    for (const r of [...this.#relations.values()]) {
      r.observation?.notify({ code: '5.03', payload, maxAge: SHUTDOWN_RETRY_SECONDS }, false);
      r.observation?.end();
    }
  }

  #onItem(r: Relation, part: Observable, format: Format, item: StreamItem): void {
    const obs = r.observation;
    // The snapshot is the state the registration was answered with.
    if (obs === null || item.type === 'snapshot') return;
    if (item.type === 'deleted') {
      // RFC 7641 §3.2: an error notification (here 4.04) ends the observation.
      obs.notify({ code: '4.04', payload: diagnostic('not_found', `Twin "${item.twin}" was deleted`) }, true);
      return;
    }
    // Only a change read from history lacks the state: never here (a relation starts live).
    if (item.state === undefined) return;
    const value = item.state[part];
    // Notify only when the observed part changed: desired when the event patched it (events hold
    // the effective patch, RFC 7396 no-ops removed), delta when it differs from the last one sent.
    const changed = part === 'desired' ? item.event.patch.desired !== undefined : value !== r.last && !deepEqual(value, r.last);
    if (!changed) return;
    r.last = value;
    r.sent++;
    const now = this.#opts.now();
    const confirmable = r.sent % this.#opts.confirmEvery === 0 || now - r.lastConfirmable >= this.#opts.confirmMs;
    if (confirmable) r.lastConfirmable = now;
    obs.notify({ code: '2.05', contentFormat: format, payload: frame(item.event, part, format, value) }, confirmable);
  }
}

function frame(event: ChangeEvent, part: Observable, format: Format, value: JsonObject): Uint8Array {
  let byEvent = frames.get(event);
  if (byEvent === undefined) { byEvent = new Map(); frames.set(event, byEvent); }
  const key = `${part}/${format}`;
  let bytes = byEvent.get(key);
  if (bytes === undefined) { bytes = Uint8Array.from(encodeBody(value, format)); byEvent.set(key, bytes); }
  return bytes;
}
