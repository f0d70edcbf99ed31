/**
 * A real webhook receiver for the connector tests (node:http on a loopback port). It checks each
 * request's HMAC signature, records what it accepted, and can be switched to answer 500, to hang,
 * or to go down and come back on the same port.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface Delivery { eventId: string; type: string; event: { twin: string; version: number; [k: string]: unknown } }
export type Mode = 'ok' | 'fail' | 'hang' | { retryAfter: number };

export class Receiver {
  readonly received: Delivery[] = [];
  /** Requests whose signature did not verify (should stay 0). */
  badSignatures = 0;
  requests = 0;
  mode: Mode = 'ok';
  /** Twins whose events are answered 500 whatever the mode. */
  readonly failing = new Set<string>();
  #server: Server | null = null;
  #port = 0;
  readonly #hung = new Set<ServerResponse>();

  constructor(readonly secret: string) {}

  get url(): string { return `http://127.0.0.1:${this.#port}/hook`; }

  async start(): Promise<void> {
    const server = createServer((req, res) => { void this.#handle(req, res); });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Down: closes the listener and every connection (hung ones too); `start()` reopens on the same port. */
  async stop(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    this.#hung.clear();
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Deliveries of one twin, in arrival order, as versions. */
  versionsOf(twin: string): number[] {
    return this.received.filter((d) => d.event.twin === twin && d.type === 'change').map((d) => d.event.version);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    this.requests++;
    const mode = this.mode;
    if (mode === 'hang') { this.#hung.add(res); return; }
    if (mode === 'fail') { res.writeHead(500).end('down for maintenance'); return; }
    if (typeof mode === 'object') { res.writeHead(503, { 'retry-after': String(mode.retryAfter) }).end(); return; }
    const expected = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`);
    const given = Buffer.from(String(req.headers['doppel-signature'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.badSignatures++;
      res.writeHead(401).end();
      return;
    }
    const body = JSON.parse(raw.toString('utf8')) as { type: string; event: Delivery['event'] };
    if (this.failing.has(body.event.twin)) { res.writeHead(500).end('not this twin'); return; }
    this.received.push({ eventId: String(req.headers['doppel-event-id']), type: body.type, event: body.event });
    res.writeHead(204).end();
  }
}

/** Each twin's versions strictly increasing, without a gap, ending at `last` (duplicates allowed: at least once). */
export function inOrderUpTo(versions: number[], last: number): boolean {
  const distinct = versions.filter((v, i) => i === 0 || v !== versions[i - 1]);
  return distinct.length === last && distinct.every((v, i) => v === i + 1);
}
