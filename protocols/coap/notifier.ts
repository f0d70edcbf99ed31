/**
 * Sends Observe notifications (RFC 7641 §4) on a UDP socket and tracks their fate: confirmable
 * ones are retransmitted with exponential back-off (RFC 7252 §4.2) until ACKed; a RST, or a
 * confirmable notification that is never acknowledged, ends the observation. Engine-neutral: it
 * needs only a `send(datagram, endpoint)` function and sees ACK/RST datagrams through `onEmpty`.
 */
import { generate } from 'coap-packet';
import type { Packet } from 'coap-packet';
import { blockSize, encodeBlock, encodeUint } from './options.ts';
import type { CoapEndpoint, CoapResponse, Observation, ObservationEnd } from './transport.ts';

export interface NotifierOptions {
  /** RFC 7252 §4.8 ACK_TIMEOUT (ms). */
  ackTimeoutMs: number;
  /** RFC 7252 §4.8 MAX_RETRANSMIT. */
  maxRetransmit: number;
  /** Largest payload sent in one notification; bigger ones go block-wise (RFC 7959 §2.6). */
  maxBlockSzx: number;
  send(datagram: Buffer, endpoint: CoapEndpoint): void;
  /** Block2 downloads of a big notification: remembers the full body for follow-up GETs. */
  etagOf?(payload: Uint8Array): Buffer;
}

/** RFC 7641 §4.4: sequence numbers are 24-bit and wrap. */
const SEQ_MOD = 1 << 24;
/** NON notifications remembered per server so a RST to one of them can end its observation. */
const MAX_REMEMBERED = 65_536;

/** What a confirmable message reports its fate to: an observation, or a one-off separate response. */
interface Sender { readonly endpoint: CoapEndpoint; pendingKey: string | null; finish(why: ObservationEnd, keepPending?: boolean): void }

interface Pending { obs: Sender; datagram: Buffer; endpoint: CoapEndpoint; attempts: number; timer: ReturnType<typeof setTimeout>; wait: number }

export class Notifier {
  readonly #opts: NotifierOptions;
  /** `address:port/mid` → the confirmable notification awaiting its ACK. */
  readonly #pending = new Map<string, Pending>();
  /** `address:port/mid` → the observation of a recent non-confirmable notification. */
  readonly #recent = new Map<string, Sender>();

  constructor(opts: NotifierOptions) { this.#opts = opts; }

  get pending(): number { return this.#pending.size; }

  /** Opens the notification side of an observation whose registration was answered with `firstSeq`. */
  open(endpoint: CoapEndpoint, token: Buffer, firstSeq: number): Observation {
    return new Channel(this, endpoint, token, firstSeq);
  }

  /**
   * Sends a separate response (RFC 7252 §5.2.2) as a confirmable message, retransmitted like a
   * notification until the client acknowledges it or the retransmissions run out.
   */
  sendSeparate(endpoint: CoapEndpoint, packet: Packet): void {
    this.transmit({ endpoint, pendingKey: null, finish: () => {} }, packet, true);
  }

  /** An empty ACK or RST from `endpoint`; true when it concerned a notification or separate response. */
  onEmpty(endpoint: CoapEndpoint, messageId: number, reset: boolean): boolean {
    const key = `${endpoint.address}:${endpoint.port}/${messageId}`;
    const p = this.#pending.get(key);
    if (p !== undefined) {
      clearTimeout(p.timer);
      this.#pending.delete(key);
      p.obs.pendingKey = null;
      // RFC 7641 §3.6: a RST in reply to a notification cancels the observation.
      if (reset) p.obs.finish('reset');
      return true;
    }
    const obs = this.#recent.get(key);
    if (obs !== undefined) {
      this.#recent.delete(key);
      if (reset) obs.finish('reset');
      return true;
    }
    return false;
  }

  /** Stops every retransmission (server shutdown). */
  close(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    this.#recent.clear();
  }

  transmit(obs: Sender, packet: Packet, confirmable: boolean): void {
    const out: Packet = { ...packet, confirmable };
    // coap-packet assigns the message id from the counter node-coap also uses, so ours never
    // collide with node-coap's separate responses to the same endpoint.
    const datagram = generate(out, (out.payload?.length ?? 0) + 256);
    const key = `${obs.endpoint.address}:${obs.endpoint.port}/${out.messageId}`;
    let attempts = 0;
    let wait = this.#opts.ackTimeoutMs * (1 + Math.random() * 0.5); // RFC 7252 §4.2: ACK_RANDOM_FACTOR 1.5
    if (obs.pendingKey !== null) {
      // RFC 7641 §4.5.2: a newer notification replaces one still being retransmitted, keeping
      // its retransmission counter and timeout, so a dead client is still detected in time.
      const old = this.#pending.get(obs.pendingKey);
      if (old !== undefined) {
        clearTimeout(old.timer);
        this.#pending.delete(obs.pendingKey);
        attempts = old.attempts;
        wait = old.wait;
        confirmable = true;
      }
      obs.pendingKey = null;
    }
    this.#opts.send(datagram, obs.endpoint);
    if (!confirmable) {
      if (this.#recent.size >= MAX_REMEMBERED) this.#recent.delete(this.#recent.keys().next().value!);
      this.#recent.set(key, obs);
      return;
    }
    const p: Pending = { obs, datagram, endpoint: obs.endpoint, attempts, wait, timer: undefined as never };
    const arm = () => {
      p.timer = setTimeout(() => {
        if (p.attempts >= this.#opts.maxRetransmit) {
          this.#pending.delete(key);
          obs.pendingKey = null;
          obs.finish('timeout');
          return;
        }
        p.attempts++;
        p.wait *= 2;
        this.#opts.send(p.datagram, p.endpoint);
        arm();
      }, p.wait);
      p.timer.unref?.();
    };
    arm();
    this.#pending.set(key, p);
    obs.pendingKey = key;
  }

  drop(obs: Channel): void {
    if (obs.pendingKey !== null) {
      const p = this.#pending.get(obs.pendingKey);
      if (p !== undefined) clearTimeout(p.timer);
      this.#pending.delete(obs.pendingKey);
      obs.pendingKey = null;
    }
  }

  get maxBlockSzx(): number { return this.#opts.maxBlockSzx; }
  etag(payload: Uint8Array): Buffer | undefined { return this.#opts.etagOf?.(payload); }
}

class Channel implements Observation {
  readonly endpoint: CoapEndpoint;
  readonly #token: Buffer;
  readonly #notifier: Notifier;
  #seq: number;
  #ended = false;
  #listeners: Array<(why: ObservationEnd) => void> = [];
  pendingKey: string | null = null;

  constructor(notifier: Notifier, endpoint: CoapEndpoint, token: Buffer, seq: number) {
    this.#notifier = notifier;
    this.endpoint = endpoint;
    this.#token = token;
    this.#seq = seq;
  }

  notify(response: CoapResponse, confirmable: boolean): void {
    if (this.#ended) return;
    // RFC 7641 §4.4: every notification carries a larger sequence number than the previous one.
    this.#seq = (this.#seq + 1) % SEQ_MOD;
    const options: Packet['options'] = [{ name: 'Observe', value: encodeUint(this.#seq) }];
    if (response.contentFormat !== undefined) options.push({ name: 'Content-Format', value: encodeUint(response.contentFormat) });
    if (response.maxAge !== undefined) options.push({ name: 'Max-Age', value: encodeUint(response.maxAge) });
    let payload = Buffer.from(response.payload.buffer, response.payload.byteOffset, response.payload.byteLength);
    const szx = this.#notifier.maxBlockSzx;
    if (payload.length > blockSize(szx)) {
      // RFC 7959 §2.6: a notification too big for one block carries the first block; the client
      // fetches the rest with GET + Block2 (served by the transport's Block2 path, same ETag).
      const etag = this.#notifier.etag(payload);
      if (etag !== undefined) options.push({ name: 'ETag', value: etag });
      options.push({ name: 'Block2', value: encodeBlock({ num: 0, more: true, szx }) });
      options.push({ name: 'Size2', value: encodeUint(payload.length) });
      payload = payload.subarray(0, blockSize(szx));
    }
    this.#notifier.transmit(this, { code: response.code, token: this.#token, options, payload }, confirmable);
    // RFC 7641 §3.2: a notification with an error code ends the observation.
    if (!response.code.startsWith('2.')) this.finish('closed', true);
  }

  end(): void { this.finish('closed'); }

  onEnd(listener: (why: ObservationEnd) => void): void { this.#listeners.push(listener); }

  /** Ends the observation once; `keepPending` lets a final (error) notification still be retransmitted. */
  finish(why: ObservationEnd, keepPending = false): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!keepPending) this.#notifier.drop(this);
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l(why);
  }
}
