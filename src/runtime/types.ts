/**
 * @module
 * The runtime seam: the only things Doppel needs from Node or Deno. `node.ts` (and later
 * `deno.ts`) implement it; everything else receives a `Runtime` and stays runtime-neutral.
 */

export interface HttpListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections, waits up to `graceMs` for open requests, then drops the rest. */
  close(graceMs?: number): Promise<void>;
}

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface Runtime {
  readonly name: 'node' | 'deno';
  readonly env: Record<string, string | undefined>;
  /** Command-line arguments after the program name. */
  readonly args: readonly string[];
  serveHttp(handler: FetchHandler, opts: { host: string; port: number }): Promise<HttpListener>;
  /** Text of a file, or undefined when it does not exist. */
  readTextFile(path: string): Promise<string | undefined>;
  /** Writes a file readable by its owner only (mode 0600), creating parent directories. */
  writeSecretFile(path: string, text: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  joinPath(...parts: string[]): string;
  /** Calls `handler` once on SIGTERM or SIGINT; returns an unsubscribe function. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  /** A repeating timer that does not keep the process alive; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  writeStdout(line: string): void;
  writeStderr(line: string): void;
  exit(code: number): never;
}
