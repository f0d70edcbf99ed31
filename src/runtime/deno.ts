/**
 * @module
 * The Deno 2 runtime adapter: HTTP via `Deno.serve`, WebSockets via `Deno.upgradeWebSocket`,
 * files, signals and timers via the `Deno` namespace. The Deno surface used here is typed locally
 * (below) so the Node build needs no Deno type package.
 */
import { DoppelError } from '../errors.ts';
import { linesOf } from './lines.ts';
import { createMetricsSampler } from './metrics-sampler.ts';
import type { FetchHandler, HttpListener, Runtime, WsConnection, WsEndpoint } from './types.ts';

interface DenoHttpServer {
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

interface DenoApi {
  readonly args: string[];
  readonly env: { toObject(): Record<string, string> };
  readonly stdout: { writeSync(bytes: Uint8Array): number };
  readonly stderr: { writeSync(bytes: Uint8Array): number };
  serve(
    options: { hostname: string; port: number; cert?: string; key?: string; onListen(addr: { port: number }): void; onError?(err: unknown): Response },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoHttpServer;
  upgradeWebSocket(request: Request, options: { idleTimeout: number }): { socket: WebSocket; response: Response };
  readTextFile(path: string): Promise<string>;
  open(path: string, options: { read?: boolean; write?: boolean; create?: boolean; truncate?: boolean; mode?: number }): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
  writeTextFile(path: string, text: string, options: { mode: number }): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<void>;
  stat(path: string): Promise<unknown>;
  remove(path: string, options: { recursive: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  removeSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  unrefTimer(id: number): void;
  memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number };
  readDirSync(path: string): Iterable<unknown>;
  exit(code: number): never;
  readonly permissions: { querySync(descriptor: { name: 'net'; host: string }): { state: 'granted' | 'prompt' | 'denied' } };
  readonly errors: { NotFound: new (...args: never[]) => Error } & Record<string, new (...args: never[]) => Error>;
}

const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
const encoder = new TextEncoder();

export const denoRuntime: Runtime = {
  name: 'deno',
  env: Deno.env.toObject(),
  args: Deno.args,

  async serveHttp(handler, { host, port, websocket, tls }): Promise<HttpListener> {
    const sockets = new Set<WebSocket>();
    let bound!: (port: number) => void;
    const listening = new Promise<number>((resolve) => { bound = resolve; });
    const server = serveOrRefuse({
      hostname: host, port, ...tls,
      onListen: (addr) => bound(addr.port), // also keeps Deno's own "Listening on" line off stdout
      onError: () => new Response('Internal error', { status: 500 }),
    }, websocket === undefined ? handler : routeUpgrades(handler, websocket, sockets));
    const boundPort = await listening;
    return {
      port: boundPort,
      close: async (graceMs = 5000) => {
        for (const socket of sockets) socket.close(1001, 'server shutting down');
        // shutdown() waits for every open request; past the grace period we stop waiting and let
        // the process exit take the stragglers.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
        await Promise.race([server.shutdown(), deadline]);
        clearTimeout(timer);
      },
    };
  },

  async readTextFile(path) {
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  },

  async writeSecretFile(path, text) {
    const slash = path.lastIndexOf('/');
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await Deno.chmod(path, 0o600); // the mode applies only when the file is created
  },

  async mkdirp(path) { await Deno.mkdir(path, { recursive: true }); },
  exists: (path) => Deno.stat(path).then(() => true, () => false),
  async removeTree(path) {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  },

  async rename(from, to) { await Deno.rename(from, to); },

  async createTextFile(path, opts = {}) {
    const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: opts.secret === true ? 0o600 : 0o644 });
    if (opts.secret === true) await Deno.chmod(path, 0o600);
    const writer = file.writable.getWriter();
    return {
      async write(text) { await writer.ready; await writer.write(encoder.encode(text)); },
      async close() { await writer.close(); },
    };
  },

  async *readLines(path) {
    yield* linesOf((await Deno.open(path, { read: true })).readable);
  },
  joinPath: (...parts) => parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, '/'),

  onShutdownSignal(handler) {
    let fired = false;
    const listeners = (['SIGTERM', 'SIGINT'] as const).map((signal) => {
      const listener = () => { if (!fired) { fired = true; handler(signal); } };
      Deno.addSignalListener(signal, listener);
      return [signal, listener] as const;
    });
    return () => { for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener); };
  },

  every(ms, fn) {
    const timer = setInterval(fn, ms);
    Deno.unrefTimer(timer as unknown as number);
    return () => clearInterval(timer);
  },

  processUsage() {
    // Deno.memoryUsage is native; CPU time only exists through the Node compatibility layer.
    const cpu = (globalThis as unknown as { process: { cpuUsage(): { user: number; system: number } } }).process.cpuUsage();
    return { rssBytes: Deno.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  },

  startMetricsSampler: (onGc) => createMetricsSampler({
    memory: () => Deno.memoryUsage(),
    openFds: () => { try { return [...Deno.readDirSync('/proc/self/fd')].length - 1; } catch { return undefined; } },
    observesGc: false,
    delayIncludesResolution: false,
  }, onGc),

  deniedNetAccess(hostPort) {
    // "prompt" too: a server has no one to ask, and Deno would refuse when the connection is made.
    if (Deno.permissions.querySync({ name: 'net', host: hostPort }).state === 'granted') return undefined;
    return `Deno is not allowed to connect to ${hostPort}: add its host to --allow-net`;
  },
  writeStdout: (line) => writeAll(Deno.stdout, `${line}\n`),
  writeStderr: (line) => writeAll(Deno.stderr, `${line}\n`),
  exit: (code) => Deno.exit(code),
};

/**
 * `Deno.serve`, with TLS material it cannot use (PEM that does not parse, a key that is not the
 * certificate's) refused as one configuration line instead of Deno's error and stack.
 */
function serveOrRefuse(options: Parameters<DenoApi['serve']>[0], handler: FetchHandler): DenoHttpServer {
  try {
    return Deno.serve(options, handler);
  } catch (err) {
    // Socket failures (AddrInUse, PermissionDenied, ...) are Deno.errors classes; TLS ones are plain Errors.
    if (options.cert === undefined || Object.values(Deno.errors).some((kind) => err instanceof kind)) throw err;
    const reason = (err as Error).message.split('\n')[0]!;
    // Worded as on Node (src/runtime/node-tls.ts), so operators meet one message per mistake.
    const problem = /KeyMismatch/.test(reason) ? '--tls-key is not the private key of the certificate in --tls-cert'
      : /private key/i.test(reason) ? `--tls-key does not hold a valid private key (${reason})`
      : /certificate/i.test(reason) ? `--tls-cert does not hold a valid certificate (${reason})`
      : `--tls-cert and --tls-key were refused (${reason})`;
    throw new DoppelError('invalid_request', `Invalid configuration: ${problem}`);
  }
}

/** Sends WebSocket handshakes on the endpoint's path to it; everything else to the app. */
function routeUpgrades(handler: FetchHandler, endpoint: WsEndpoint, sockets: Set<WebSocket>): FetchHandler {
  return async (request) => {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || new URL(request.url).pathname !== endpoint.path) {
      return handler(request);
    }
    const decision = await endpoint.accept(request);
    if (decision instanceof Response) return decision;
    // Deno's own heartbeat pings an idle peer and closes it (1001) once `idleTimeout` seconds pass
    // with no frame or pong from it (measured: ~1 s at idleTimeout 1); two intervals, as on Node.
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: Math.max(1, Math.round((2 * endpoint.heartbeatMs) / 1000)) });
    socket.addEventListener('open', () => { sockets.add(socket); decision(wrap(socket, endpoint.maxPayload)); });
    socket.addEventListener('close', () => { sockets.delete(socket); });
    return response;
  };
}

function wrap(socket: WebSocket, maxPayload: number): WsConnection {
  return {
    send: (text) => { if (socket.readyState === WebSocket.OPEN) socket.send(text); },
    close: (code, reason) => { if (socket.readyState <= WebSocket.OPEN) socket.close(code, reason); },
    get bufferedAmount() { return socket.bufferedAmount; },
    onMessage(handler) {
      socket.addEventListener('message', (event: MessageEvent) => {
        if (typeof event.data !== 'string') { socket.close(1003, 'text frames only'); return; }
        // Deno.upgradeWebSocket has no frame-size option, so the limit is checked on arrival.
        if (utf8Length(event.data, maxPayload) > maxPayload) { socket.close(1009, 'message too big'); return; }
        handler(event.data);
      });
    },
    onClose(handler) { socket.addEventListener('close', (event: CloseEvent) => handler(event.code, event.reason)); },
  };
}

/** UTF-8 byte length, encoding only when the UTF-16 length leaves it in doubt. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length;
  if (text.length * 3 <= limit) return text.length;
  return encoder.encode(text).length;
}

/** Writes everything (writeSync may write part of a pipe buffer); a vanished reader is ignored. */
function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch {
    // Losing log lines is better than losing the process (EPIPE from a closed pipe).
  }
}
