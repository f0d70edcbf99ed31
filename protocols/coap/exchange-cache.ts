/**
 * Duplicate detection (RFC 7252 §4.5): every request is remembered by (endpoint, message id) from
 * the moment it arrives, first as in flight, then with the exact datagram that answered it, so a
 * retransmission is never handled twice: one still in flight is ignored, one answered gets the
 * same reply again.
 *
 * Bounded three ways, so a flood cannot grow it and cannot flush other devices' entries:
 * - per endpoint, its most recent `perEndpoint` exchanges (a client retransmits only requests it
 *   still waits for, which are its newest; RFC 7252 §4.7 NSTART is 1 by default);
 * - in time, EXCHANGE_LIFETIME (247 s, §4.8.2), after which a sender no longer retransmits;
 * - in bytes overall (replies plus a fixed estimate per entry), oldest first.
 * Memory is what the replies take: a reply to a report is a few dozen bytes.
 */

export const IN_FLIGHT = 'in flight';

export interface ExchangeCacheOptions {
  /** Bytes of remembered replies at most (each entry counts its reply plus `ENTRY_BYTES`). */
  maxBytes: number;
  /** Exchanges remembered per endpoint at most (its newest). */
  perEndpoint: number;
  /** How long an exchange is remembered (RFC 7252 EXCHANGE_LIFETIME: 247 s). */
  lifetimeMs: number;
  now?: () => number;
}

/** Estimated bytes of one entry beyond its reply: key string, entry object, map slots. */
const ENTRY_BYTES = 160;

interface Entry { key: string; endpoint: string; reply: Uint8Array | null; at: number }

export class ExchangeCache {
  readonly #opts: Required<ExchangeCacheOptions>;
  /** `endpoint/mid` → entry, oldest first (a Map iterates in insertion order). */
  readonly #entries = new Map<string, Entry>();
  /** endpoint → its live entries, oldest first. */
  readonly #perEndpoint = new Map<string, Entry[]>();
  #bytes = 0;

  constructor(opts: ExchangeCacheOptions) {
    this.#opts = { now: () => Date.now(), ...opts };
  }

  get size(): number { return this.#entries.size; }
  get bytes(): number { return this.#bytes; }

  /** The reply already sent for this request, `IN_FLIGHT` while it is handled, or undefined when new. */
  lookup(endpoint: string, mid: number): Uint8Array | typeof IN_FLIGHT | undefined {
    const entry = this.#entries.get(`${endpoint}/${mid}`);
    if (entry === undefined) return undefined;
    if (this.#opts.now() - entry.at > this.#opts.lifetimeMs) { this.#remove(entry); return undefined; }
    return entry.reply ?? IN_FLIGHT;
  }

  /** Remembers a new request as in flight. */
  begin(endpoint: string, mid: number): void {
    this.#put(endpoint, `${endpoint}/${mid}`, null);
  }

  /** Remembers the datagram that answered the request (a retransmission gets it again). */
  complete(endpoint: string, mid: number, reply: Uint8Array): void {
    const key = `${endpoint}/${mid}`;
    const entry = this.#entries.get(key);
    if (entry === undefined) { this.#put(endpoint, key, reply); return; }
    this.#bytes += reply.length - (entry.reply?.length ?? 0);
    entry.reply = reply;
    this.#trim();
  }

  /** Forgets a request (it was not handled after all: a retransmission must be handled again). */
  forget(endpoint: string, mid: number): void {
    const entry = this.#entries.get(`${endpoint}/${mid}`);
    if (entry !== undefined) this.#remove(entry);
  }

  clear(): void {
    this.#entries.clear();
    this.#perEndpoint.clear();
    this.#bytes = 0;
  }

  #put(endpoint: string, key: string, reply: Uint8Array | null): void {
    const old = this.#entries.get(key);
    if (old !== undefined) this.#remove(old);
    const entry: Entry = { key, endpoint, reply, at: this.#opts.now() };
    this.#entries.set(key, entry);
    this.#bytes += ENTRY_BYTES + (reply?.length ?? 0);
    let mine = this.#perEndpoint.get(endpoint);
    if (mine === undefined) this.#perEndpoint.set(endpoint, (mine = []));
    mine.push(entry);
    if (mine.length > this.#opts.perEndpoint) this.#remove(mine[0]!);
    this.#trim();
  }

  #trim(): void {
    const oldest = this.#opts.now() - this.#opts.lifetimeMs;
    for (const entry of this.#entries.values()) {
      if (this.#bytes <= this.#opts.maxBytes && entry.at >= oldest) break;
      this.#remove(entry);
    }
  }

  #remove(entry: Entry): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    this.#bytes -= ENTRY_BYTES + (entry.reply?.length ?? 0);
    const mine = this.#perEndpoint.get(entry.endpoint)!;
    // An endpoint's entries are in arrival order, and removals are mostly its oldest.
    const at = mine[0] === entry ? 0 : mine.indexOf(entry);
    if (at === 0) mine.shift(); else mine.splice(at, 1);
    if (mine.length === 0) this.#perEndpoint.delete(entry.endpoint);
  }
}
