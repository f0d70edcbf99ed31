/**
 * The part the two durable floors share (bench/floor-level.ts, bench/floor-log.ts): a `node:dgram`
 * CoAP endpoint that reads only what it must of each datagram — header, token, options walked to
 * the payload, keeping the twin id from the second Uri-Path segment (`/t/{id}/reported`) — hands
 * each confirmable PUT to `persist` and answers a piggybacked 2.04 once that resolved. No twin
 * math, no JSON, no auth, no actors: what is left is UDP plus the storage stack.
 *
 * The records persisted are byte arrays of the sizes Doppel writes per report, measured on the
 * coap scenario's twins (`{"temp": 20|21}` reported over `desired {temp, mode}`, tags, one device
 * token): the twin snapshot `t!{id}` is 433 + id length bytes of CBOR, the change event
 * `h!{id}!{version}` 93–99 + id length (96 on average).
 *
 * Also a tiny HTTP endpoint serving `/metrics` with the two counters the bench reads from Doppel's
 * own (`doppel_store_batch_ops_count` = physical batches, `doppel_store_commits_total`), so commits
 * per fsync come out the same way. Prints {"msg":"listening","coap":port,"http":port}.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BatchStats } from '../src/store/types.ts';

const TWIN_RECORD_BASE = 433;
const EVENT_RECORD_BASE = 96;
/** Any bytes of the right length do (LevelDB's log does not compress); text of a twin, as a filler. */
const FILLER = Buffer.from('{"id":"c-0","version":1,"desired":{"temp":21,"mode":"eco"},"reported":{"temp":21},"delta":{"mode":"eco"},"tags":{"site":"berlin"},"metadata":{"desired":{"temp":{"updatedAt":"2026-12-07T01:49:03.705Z"}}},"pendingSince":"2026-12-07T01:49:03.705Z","lastSeenVia":"coap","createdAt":"2026-12-07T01:49:03.705Z"}'.repeat(2));

/** One report's two records, fresh buffers as an encoder would hand them over. */
export function reportRecords(twin: string, version: number, payload: Buffer): { twinKey: string; twinValue: Buffer; eventKey: string; eventValue: Buffer } {
  const fill = (size: number) => {
    const b = Buffer.allocUnsafe(size);
    FILLER.copy(b, 0, 0, size);
    b.writeUInt32BE(version, 8);
    payload.copy(b, size - payload.length);
    return b;
  };
  return {
    twinKey: `t!${twin}`,
    twinValue: fill(TWIN_RECORD_BASE + twin.length),
    eventKey: `h!${twin}!${String(version).padStart(10, '0')}`,
    eventValue: fill(EVENT_RECORD_BASE + twin.length),
  };
}

/** What a floor does with one report: resolves once its records are committed. */
export type Persist = (twin: string, version: number, payload: Buffer) => Promise<void>;

const URI_PATH = 11;
/** Response codes (RFC 7252 §12.1.2): 2.04 Changed, 4.00, 4.05, 5.00. */
const CHANGED = 0x44, BAD_REQUEST = 0x80, METHOD_NOT_ALLOWED = 0xa5, INTERNAL = 0xa0;

/** The twin id and payload of a request, or null when its options are malformed (RFC 7252 §3.1). */
export function parseRequest(m: Buffer, tkl: number): { twin: string; payload: Buffer } | null {
  let i = 4 + tkl;
  let number = 0;
  let paths = 0;
  let twin = '';
  while (i < m.length && m[i] !== 0xff) {
    let delta = m[i]! >> 4;
    let length = m[i]! & 15;
    i++;
    // 13 and 14 mean one or two extension bytes follow; 15 is reserved outside the payload marker.
    if (delta === 13) delta = m[i++]! + 13; else if (delta === 14) { delta = m.readUInt16BE(i) + 269; i += 2; } else if (delta === 15) return null;
    if (length === 13) length = m[i++]! + 13; else if (length === 14) { length = m.readUInt16BE(i) + 269; i += 2; } else if (length === 15) return null;
    number += delta;
    if (i + length > m.length) return null;
    if (number === URI_PATH && ++paths === 2) twin = m.toString('latin1', i, i + length);
    i += length;
  }
  if (twin === '') return null;
  // §3: a payload marker followed by nothing is a format error.
  if (i < m.length && i + 1 === m.length) return null;
  return { twin, payload: m.subarray(Math.min(i + 1, m.length)) };
}

function reply(m: Buffer, tkl: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(4 + tkl);
  out[0] = 0x60 | tkl; // version 1, ACK (piggybacked, RFC 7252 §5.2.1)
  out[1] = code;
  out[2] = m[2]!;
  out[3] = m[3]!;
  m.copy(out, 4, 4, 4 + tkl);
  return out;
}

/** Counts a group-commit writer's batches and commits (its `stats` hook). */
export class BatchCounts {
  batches = 0;
  commits = 0;
  onBatch = (s: BatchStats): void => { this.batches++; this.commits += s.commits; };
}

/**
 * Serves the floor until SIGTERM, then runs `close` (waiting for queued commits) and exits.
 * `--cpu-us N` (default 0) spins N µs on the event loop per request before persisting: a stand-in
 * for a server's own work per report, to see what that alone does to group commit.
 */
export function serveFloor(persist: Persist, counts: BatchCounts, close: () => Promise<void>): void {
  const cpuMs = Number(flag('cpu-us', '0')) / 1000;
  if (!(cpuMs >= 0)) throw new Error(`--cpu-us takes a number of microseconds: got "${flag('cpu-us')}"`);
  const versions = new Map<string, number>();
  const socket = createSocket('udp4');
  socket.on('message', (m, r) => {
    // Confirmable requests only (type 0), as Doppel's reports and the echo's.
    if (m.length < 4 || (m[0]! >> 6) !== 1 || (m[0]! >> 4 & 3) !== 0) return;
    const tkl = m[0]! & 15;
    if (tkl > 8 || m.length < 4 + tkl) return;
    const send = (code: number) => socket.send(reply(m, tkl, code), r.port, r.address);
    if (m[1] !== 0x03) { send(METHOD_NOT_ALLOWED); return; } // 0.03 PUT
    const req = parseRequest(m, tkl);
    if (req === null) { send(BAD_REQUEST); return; }
    if (cpuMs > 0) for (const until = performance.now() + cpuMs; performance.now() < until;) { /* spin */ }
    const version = (versions.get(req.twin) ?? 0) + 1;
    versions.set(req.twin, version);
    persist(req.twin, version, req.payload).then(() => send(CHANGED), () => send(INTERNAL));
  });
  const http = createServer((_req, res) => {
    res.end(`doppel_store_batch_ops_count ${counts.batches}\ndoppel_store_commits_total ${counts.commits}\n`);
  });
  socket.bind(0, '127.0.0.1', () => http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ msg: 'listening', coap: socket.address().port, http: (http.address() as AddressInfo).port })}\n`);
  }));
  process.on('SIGTERM', () => {
    socket.close();
    http.close();
    close().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
  });
}

/** `--name value` from argv, or `fallback`. */
export function flag(name: string, fallback?: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}
