/**
 * The HTTP twin API as the console uses it: bearer token, JSON in and out, problem+json errors
 * (RFC 9457) turned into ApiError with the server's stable `code`.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Twin {
  id: string; version: number; desired: JsonObject; reported: JsonObject; delta: JsonObject; tags: JsonObject;
  metadata: { desired: JsonObject; reported: JsonObject };
  sync: { inSync: boolean; pendingSince?: string };
  connection: { online: boolean; via: string | null; lastSeenAt: string | null };
  createdAt: string; updatedAt: string;
}
export interface ChangeEvent {
  twin: string; version: number; at: string; via: string; clientToken?: string;
  patch: { desired?: JsonObject; reported?: JsonObject; tags?: JsonObject }; delta: JsonObject;
}
export type CommandStatus = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired' | 'cancelled';
export interface Command {
  id: string; name: string; payload: Json; status: CommandStatus; result?: Json;
  createdAt: string; updatedAt: string; expiresAt?: string;
}
export interface ApiKey { id: string; name: string | null; scopes: string[]; prefix: string | null; createdAt: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

let token: string | null = null;
export function setApiToken(value: string | null): void { token = value; }

export interface Reply<T> { status: number; body: T; etag: string | null }

export async function api<T = unknown>(
  method: string, path: string, opts: { body?: unknown; ifMatch?: number; contentType?: string; text?: boolean } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, cache: 'no-store', ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) });
  } catch {
    throw new ApiError(0, 'unreachable', 'The server cannot be reached. Check that it is running.');
  }
  if (!res.ok) throw await problem(res, method, path);
  const body = res.status === 204 ? null : opts.text === true ? await res.text() : await res.json();
  return { status: res.status, body: body as T, etag: res.headers.get('etag') };
}

async function problem(res: Response, method: string, path: string): Promise<ApiError> {
  let p: { code?: string; detail?: string; details?: Record<string, unknown> } = {};
  try { p = await res.json(); } catch { /* not problem+json: keep the status */ }
  const code = p.code ?? `http_${res.status}`;
  let message = p.detail ?? res.statusText;
  if (res.status === 401) message = 'The token was not accepted (unauthorized). Sign in again with a valid token.';
  if (res.status === 403) message = `This token lacks the scope ${scopeFor(method, path)}. ${p.detail ?? ''}`.trim();
  return new ApiError(res.status, code, message, p.details ?? {});
}

/** The scope a request needs (README "Credentials"), to say which one a 403 lacked. */
export function scopeFor(method: string, path: string): string {
  if (path.startsWith('/v1/keys')) return 'keys:admin';
  return method === 'GET' ? 'twins:read' : 'twins:write';
}

export const twinPath = (id: string) => `/v1/twins/${encodeURIComponent(id)}`;
