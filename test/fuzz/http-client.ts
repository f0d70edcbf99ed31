/**
 * A raw HTTP/1.1 client for the fuzz suites: bodies as bytes (not re-encoded by fetch), chunked
 * uploads in chosen pieces that stop once the answer is in, and any header value Node allows.
 */
import { request } from 'node:http';

export interface RawReply { status: number; headers: Record<string, string | string[] | undefined>; text: string }

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent with Content-Length. */
  body?: Buffer;
  /** Sent chunked (Transfer-Encoding: chunked), piece by piece, until the answer arrives. */
  chunks?: Buffer[];
}

export function send(port: number, r: RawRequest): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = r.body.length;
    const req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') });
        req.destroy();
      });
    });
    // A refused upload may be cut off by the server once it has answered: only an error before that counts.
    req.on('error', (err) => { if (!answered) reject(err); });
    if (r.chunks === undefined) { req.end(r.body); return; }
    const pieces = r.chunks[Symbol.iterator]();
    const pump = () => {
      for (let n = pieces.next(); !n.done; n = pieces.next()) {
        if (answered || req.destroyed) return;
        if (!req.write(n.value)) { req.once('drain', pump); return; }
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

/** A reply as a fetch Response (for the problem+json assertions shared with fetch-based tests). */
export function asResponse(reply: RawReply): Response {
  const h = new Headers();
  for (const [k, v] of Object.entries(reply.headers)) if (typeof v === 'string') h.set(k, v);
  return new Response(reply.status === 204 || reply.status === 304 ? null : reply.text, { status: reply.status, headers: h });
}
