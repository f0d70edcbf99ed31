/**
 * A closed-loop HTTP load generator: `concurrency` keep-alive connections, each sending its next
 * request as soon as the previous reply arrived, for `seconds`. Requests are pre-built strings
 * written to raw sockets and replies parsed minimally, so the generator costs little CPU.
 */
import { connect } from 'node:net';

export interface LoadResult { requests: number; errors: number; seconds: number; latenciesMs: number[] }

export async function runLoad(opts: { port: number; concurrency: number; seconds: number; request: (i: number) => string; maxRequests?: number }): Promise<LoadResult> {
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  const deadline = performance.now() + opts.seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, (_, conn) => new Promise<void>((resolve, reject) => {
    const socket = connect(opts.port, '127.0.0.1');
    socket.setNoDelay(true);
    let buffer = '';
    let sentAt = 0;
    let n = conn;
    const send = () => {
      if (performance.now() >= deadline || n >= (opts.maxRequests ?? Infinity)) { socket.end(); resolve(); return; }
      sentAt = performance.now();
      socket.write(opts.request(n));
      n += opts.concurrency;
    };
    socket.on('connect', send);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.slice(0, headEnd);
        // Framing we do not parse (chunked) would desynchronise the counts: fail loudly instead.
        if (!head.startsWith('HTTP/1.1 ') || /transfer-encoding: chunked/i.test(head)) { reject(new Error(`unexpected reply framing: ${head.slice(0, 200)}`)); socket.destroy(); return; }
        const m = /content-length: (\d+)/i.exec(head);
        const length = m === null ? 0 : Number(m[1]);
        if (buffer.length < headEnd + 4 + length) return;
        const status = Number(buffer.slice(9, 12));
        buffer = buffer.slice(headEnd + 4 + length);
        latencies.push(performance.now() - sentAt);
        requests++;
        if (status >= 400) errors++;
        send();
      }
    });
  })));
  return { requests, errors, seconds: (performance.now() - started) / 1000, latenciesMs: latencies };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
