/**
 * How the client commands reach a running server: the base URL and the bearer token (each from a
 * flag, the environment or a default), one fetch per call, and every way a call can fail turned
 * into a one-line `ClientFailure` (exit 1) that never contains the token.
 */
import type { Runtime } from '../runtime/types.ts';
import { stringFlag, usageError } from './args.ts';
import type { Flags } from './args.ts';
import { oneLine } from './output.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** The flags that say where the server is and which token to use (`resolveUrl`, `resolveToken`). */
export const CONNECTION_FLAGS = { url: 'string', token: 'string', data: 'string' } as const;
/** A server that accepts the connection but never answers should not hang a script forever. */
const TIMEOUT_MS = 30_000;

/** A failure while talking to the server; printed as `doppel: <message>`, exit code 1. */
export class ClientFailure extends Error {
  override readonly name = 'ClientFailure';
}

/** A problem+json reply, kept structured so commands and tests can branch on `code`. */
export class ProblemFailure extends ClientFailure {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
  }
}

interface Credential { token: string; source: string }

/** Header values must be visible ASCII; fetch would otherwise throw an error that quotes the token. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

/**
 * The token, first found of: --token, DOPPEL_TOKEN, DOPPEL_ADMIN_TOKEN (the server's own variable,
 * set when it was started that way, in which case it wrote no file), `<data>/admin-token` (what
 * the server writes on first start; --data, DOPPEL_DATA, ./data).
 */
export async function resolveToken(flags: Flags, runtime: Runtime, context: string): Promise<Credential> {
  const candidates: [string | undefined, string][] = [
    [stringFlag(flags, 'token'), '--token'],
    [runtime.env.DOPPEL_TOKEN, 'DOPPEL_TOKEN'],
    [runtime.env.DOPPEL_ADMIN_TOKEN, 'DOPPEL_ADMIN_TOKEN'],
  ];
  for (const [value, source] of candidates) {
    if (value === undefined || (value === '' && source !== '--token')) continue; // an empty variable counts as unset
    return checked({ token: value.trim(), source }, context);
  }
  const dir = stringFlag(flags, 'data') ?? nonEmpty(runtime.env.DOPPEL_DATA) ?? './data';
  const file = runtime.joinPath(dir, 'admin-token');
  let text: string | undefined;
  try {
    text = await runtime.readTextFile(file);
  } catch (err) {
    throw new ClientFailure(`cannot read the admin token from ${file}: ${errorText(err)}`);
  }
  if (text === undefined || text.trim() === '') {
    throw usageError(context, `no token: pass --token, set DOPPEL_TOKEN, or point --data (DOPPEL_DATA) at the server's data directory (${file} ${text === undefined ? 'does not exist' : 'is empty'})`);
  }
  return checked({ token: text.trim(), source: file }, context);
}

function checked(credential: Credential, context: string): Credential {
  if (credential.token === '') throw usageError(context, `the token from ${credential.source} is empty`);
  if (!TOKEN_SHAPE.test(credential.token)) throw usageError(context, `the token from ${credential.source} contains spaces or control characters`);
  return credential;
}

/** The server's base URL: --url, DOPPEL_URL, or the default port on this machine. */
export function resolveUrl(flags: Flags, runtime: Runtime, context: string): string {
  const raw = stringFlag(flags, 'url') ?? nonEmpty(runtime.env.DOPPEL_URL) ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(context, `--url must be an http(s) URL like ${DEFAULT_URL}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(context, `--url must be an http(s) URL like ${DEFAULT_URL}, got "${raw}"`);
  if (url.username !== '' || url.password !== '') throw usageError(context, '--url must not carry credentials: use --token');
  // Kept as a string prefix so a server behind a path (https://host/doppel) works too.
  return url.href.replace(/\/+$/, '');
}

export interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

export class ApiClient {
  #credential: Promise<Credential> | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly credential: () => Promise<Credential>,
  ) {}

  /** Sends one request; resolves to the parsed JSON reply, or undefined for 204. */
  async call(method: string, path: string, opts: CallOptions = {}): Promise<unknown> {
    // The token is looked up on the first call only, after the command has checked its arguments.
    const { token, source } = await (this.#credential ??= this.credential());
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const url = `${this.baseUrl}${path}${params.size > 0 ? `?${params}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method, headers, signal: AbortSignal.timeout(TIMEOUT_MS),
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
      text = await response.text();
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') throw new ClientFailure(`no reply from ${this.baseUrl} within ${TIMEOUT_MS / 1000} s (${method} ${path})`);
      const reason = errorText(err);
      // fetch refuses some ports outright (the Fetch standard's "bad ports": 6000, 6666, 10080…).
      if (/bad port/i.test(reason)) throw new ClientFailure(`cannot reach the server at ${this.baseUrl}: fetch refuses that port (a "bad port" of the Fetch standard); run the server on another one`);
      throw new ClientFailure(`cannot reach the server at ${this.baseUrl} (${reason}): is it running? Start it with \`doppel serve\`, or point --url (or DOPPEL_URL) at it`);
    }
    if (response.status === 204 || (response.ok && text === '')) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ClientFailure(`unexpected ${response.status} reply from ${url}: not JSON${response.ok ? '' : ` (is ${this.baseUrl} a Doppel server?)`}`);
    }
    if (!response.ok) throw problem(response, body, url, source);
    return body;
  }
}

/** A failed reply as one line: `not_found: Twin "x" does not exist (404)`, plus a hint where one helps. */
function problem(response: Response, body: unknown, url: string, tokenSource: string): ClientFailure {
  const p = typeof body === 'object' && body !== null ? body as Record<string, unknown> : {};
  if (typeof p.code !== 'string') return new ClientFailure(`HTTP ${response.status} from ${url} (is it a Doppel server?)`);
  const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : 'no detail';
  let message = `${oneLine(p.code)}: ${oneLine(detail)} (${response.status})`;
  if (p.code === 'unauthorized') message += `; the token came from ${tokenSource}`;
  const retry = response.headers.get('retry-after');
  if (p.code === 'rate_limited' && retry !== null) message += `; retry after ${oneLine(retry)} s`;
  return new ProblemFailure(p.code, response.status, message);
}

/** The most telling part of a fetch failure: undici hides the errno (ECONNREFUSED…) in `cause`. */
function errorText(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } })?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.[0]?.code;
  if (typeof inner === 'string') return inner;
  if (typeof cause?.message === 'string' && cause.message !== '') return oneLine(cause.message);
  return oneLine(err instanceof Error ? err.message : String(err));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** True for failures a client command reports itself (exit 1), as opposed to usage errors (exit 2). */
export function isClientFailure(err: unknown): err is ClientFailure {
  return err instanceof ClientFailure;
}

/**
 * Checks the parts of a reply a command reads, so a wrong server or an old version gives one
 * clear line instead of a TypeError. Schemas are loose: fields added later pass through.
 */
export function expectReply<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ClientFailure(`unexpected reply from the server: not ${what}`);
  return parsed.data;
}
