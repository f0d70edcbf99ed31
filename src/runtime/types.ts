/**
 * @module
 * The runtime seam: the only things Doppel needs from Node or Deno. `node.ts` and `deno.ts`
 * implement it; everything else receives a `Runtime` and stays runtime-neutral.
 */

export interface HttpListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections, waits up to `graceMs` for open requests, then drops the rest. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A certificate chain and its private key, PEM text as read from `--tls-cert` / `--tls-key`.
 * An adapter that cannot use them refuses to serve with a `DoppelError` (`invalid_request`)
 * naming the flag at fault, before anything is bound.
 */
export interface TlsMaterial {
  cert: string;
  key: string;
}

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A server-side WebSocket as protocol code sees it: text frames only, no library types. */
export interface WsConnection {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued for the peer but not yet written: the backpressure signal. */
  readonly bufferedAmount: number;
  /** Text frames. Binary frames are refused by the adapter (closed with 1003). */
  onMessage(handler: (text: string) => void): void;
  onClose(handler: (code: number, reason: string) => void): void;
}

/** What a WebSocket endpoint tells the adapter. */
export interface WsEndpoint {
  /** URL path served, e.g. `/v1/ws`. */
  path: string;
  /** Largest frame accepted; bigger ones close the connection with 1009. */
  maxPayload: number;
  /** The adapter pings every `heartbeatMs` and drops a peer silent for two intervals. */
  heartbeatMs: number;
  /**
   * Decides on the handshake: a Response refuses it (e.g. 401, sent as the HTTP answer, never
   * after the upgrade); a function accepts it and receives the open connection.
   */
  accept(request: Request): Promise<Response | ((connection: WsConnection) => void)>;
}

/** A file being written; `write` resolves when the text is accepted (backpressure). */
export interface TextFileWriter {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A garbage collection's kind, as prom-client labels `nodejs_gc_duration_seconds`. */
export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

/** Runtime figures for the standard `nodejs_*` / `process_*` metrics, read at scrape time. */
export interface RuntimeSample {
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** How late the loop ran a 10 ms timer since the previous sample, in seconds; undefined until it first fires. */
  readonly loopDelay: { min: number; max: number; mean: number; stddev: number; p50: number; p90: number; p99: number } | undefined;
  /** Open file descriptors; undefined where the runtime cannot count them (no /proc). */
  readonly openFds: number | undefined;
}

export interface MetricsSampler {
  sample(): RuntimeSample;
  /** Whether GC pauses reach `onGc` here (Node yes; Deno 2 accepts the observer but never reports). */
  readonly observesGc: boolean;
  stop(): void;
}

export interface Runtime {
  readonly name: 'node' | 'deno';
  readonly env: Record<string, string | undefined>;
  /** Command-line arguments after the program name. */
  readonly args: readonly string[];
  /** Plain HTTP, or HTTPS (and WSS on the same port) when `tls` is given. */
  serveHttp(handler: FetchHandler, opts: { host: string; port: number; websocket?: WsEndpoint; tls?: TlsMaterial }): Promise<HttpListener>;
  /** Text of a file, or undefined when it does not exist. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Writes a file readable by its owner only (mode 0600), creating parent directories. */
  writeSecretFile(path: string, text: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** True when a file or directory exists at `path`. */
  exists(path: string): Promise<boolean>;
  /** Deletes a directory and everything in it (nothing when absent). */
  removeTree(path: string): Promise<void>;
  /** Moves a file to `to`, replacing what is there (atomic on one file system). */
  rename(from: string, to: string): Promise<void>;
  /** Creates (or truncates) a file to stream text into; mode 0600 when `secret`. */
  createTextFile(path: string, opts?: { secret?: boolean }): Promise<TextFileWriter>;
  /** The lines of a text file (without their line ends), streamed; throws when it does not exist. */
  readLines(path: string): AsyncIterable<string>;
  joinPath(...parts: string[]): string;
  /** Calls `handler` once on SIGTERM or SIGINT; returns an unsubscribe function. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  /** A repeating timer that does not keep the process alive; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  /** Resident memory and CPU time so far of this process (for /metrics). */
  processUsage(): { rssBytes: number; cpuSeconds: number };
  /** Starts watching the event loop (and GC pauses, where observable) for /metrics. */
  startMetricsSampler(onGc: (kind: GcKind, seconds: number) => void): MetricsSampler;
  /**
   * Why this process may not connect to `host:port` (a configured peer such as a NATS server),
   * or undefined when it may. Deno answers from its `--allow-net` grant, so that a missing grant
   * refuses the start naming the flag instead of a bare EPERM from a name lookup; Node has no
   * such grant and leaves it out.
   */
  deniedNetAccess?(hostPort: string): string | undefined;
  writeStdout(line: string): void;
  writeStderr(line: string): void;
  exit(code: number): never;
}
