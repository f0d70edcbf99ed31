/**
 * @module
 * The Node.js runtime adapter: HTTP via @hono/node-server, files via node:fs, signals via process.
 */
import { createReadStream, createWriteStream, readdirSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile, chmod } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer as createHttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import type { HttpListener, Runtime } from './types.ts';
import { attachWebSocket } from './node-websocket.ts';
import { createMetricsSampler } from './metrics-sampler.ts';
import { httpsOptions } from './node-tls.ts';

// A log reader that goes away (a pipe to a crashed shipper, `| head`) must not take the server
// down with EPIPE: losing log lines is better than losing the process.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

/**
 * A request Node's parser refuses before the app sees it (a header block over 16 KiB, bytes HTTP
 * forbids): answered as problem+json like every other refusal, instead of Node's bare status line.
 */
function answerUnparseable(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') { socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'); return; }
  const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, code, title, detail] = tooBig
    ? [431, 'Request Header Fields Too Large', 'too_large', 'Too large', 'The request headers are over 16 KiB']
    : [400, 'Bad Request', 'invalid_request', 'Invalid request', 'The request is not valid HTTP/1.1'];
  const body = JSON.stringify({ type: `urn:doppel:problem:${code}`, title, status, detail, code });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export const nodeRuntime: Runtime = {
  name: 'node',
  env: process.env,
  args: process.argv.slice(2),

  async serveHttp(handler, { host, port, websocket, tls }): Promise<HttpListener> {
    // @hono/node-server's default: its lightweight Request/Response replace the globals (they
    // subclass the platform's, so `instanceof Response` still holds), and a response built from a
    // string goes out in one write with no web stream behind it. Keeping the platform classes
    // cost 40% of a twin GET (38 µs of server CPU; bench/RESULTS.md).
    // TLS: https.createServer speaks the same HTTP/1.1 over TLS sockets (no ALPN h2), so requests,
    // keep-alive, the drain and WSS upgrades ('upgrade' event) work as on plain HTTP.
    const secure = tls === undefined ? {} : { createServer: createHttpsServer, serverOptions: httpsOptions(tls) };
    const server = createAdaptorServer({ fetch: (req: Request) => handler(req), ...secure }) as Server;
    server.keepAliveTimeout = 65_000;
    server.on('clientError', answerUnparseable);
    const ws = websocket === undefined ? null : attachWebSocket(server, websocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: (graceMs = 5000) => new Promise<void>((resolve) => {
        ws?.close();
        // Keep-alive connections busy at the start of the drain go idle later: keep closing idle
        // ones so the drain ends as soon as the last response is out, not at the grace deadline.
        const sweeper = setInterval(() => server.closeIdleConnections(), 25);
        // Upgraded (WebSocket) connections are not the HTTP server's to close, yet server.close()
        // waits for them: a peer that never answers the close frame would hold the exit for ws's
        // own 30 s, past the deadline.
        const deadline = setTimeout(() => { server.closeAllConnections(); ws?.terminate(); }, graceMs);
        server.close(() => { clearInterval(sweeper); clearTimeout(deadline); resolve(); });
        server.closeIdleConnections();
      }),
    };
  },

  async readTextFile(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },

  async writeSecretFile(path, text) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600); // writeFile's mode applies only when it creates the file
  },

  async mkdirp(path) { await mkdir(path, { recursive: true }); },
  exists: (path) => access(path).then(() => true, () => false),
  async removeTree(path) { await rm(path, { recursive: true, force: true }); },
  async rename(from, to) { await rename(from, to); },

  async createTextFile(path, opts = {}) {
    const stream = createWriteStream(path, { mode: opts.secret === true ? 0o600 : 0o644 });
    await once(stream, 'open');
    if (opts.secret === true) await chmod(path, 0o600); // the mode applies only when it creates the file
    return {
      async write(text) { if (!stream.write(text)) await once(stream, 'drain'); },
      close: () => new Promise<void>((resolve, reject) => { stream.once('error', reject); stream.end(() => resolve()); }),
    };
  },

  async *readLines(path) {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
    yield* lines;
  },
  joinPath: (...parts) => join(...parts),

  onShutdownSignal(handler) {
    let fired = false;
    const listener = (signal: NodeJS.Signals) => { if (!fired) { fired = true; handler(signal); } };
    process.on('SIGTERM', listener);
    process.on('SIGINT', listener);
    return () => { process.off('SIGTERM', listener); process.off('SIGINT', listener); };
  },

  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },

  processUsage() {
    const cpu = process.cpuUsage();
    return { rssBytes: process.memoryUsage.rss(), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  },

  startMetricsSampler: (onGc) => createMetricsSampler({
    memory: () => process.memoryUsage(),
    // Linux: one entry per descriptor, less the one reading the directory.
    openFds: () => { try { return readdirSync('/proc/self/fd').length - 1; } catch { return undefined; } },
    observesGc: true,
    delayIncludesResolution: true,
  }, onGc),

  writeStdout: (line) => { process.stdout.write(`${line}\n`); },
  writeStderr: (line) => { process.stderr.write(`${line}\n`); },
  exit: (code) => process.exit(code),
};
