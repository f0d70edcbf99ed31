/**
 * @module
 * Every error code Doppel answers with, in one list. Code inside throws a `DoppelError`; each
 * protocol edge maps its stable `code` to its own status (HTTP problem+json, CoAP response code,
 * WebSocket `error` message). Compare `code`, never `instanceof`, across module boundaries.
 */

/** The stable error codes of CONTRACT §3, each with its HTTP status and CoAP code. */
export const ERROR_CODES = {
  invalid_request: { http: 400, coap: '4.00', title: 'Invalid request', doc: 'Malformed body, bad JSON/CBOR or bad parameters.' },
  invalid_document: { http: 400, coap: '4.00', title: 'Invalid document', doc: 'A forbidden key, an over-long key or a value of the wrong type (e.g. desired not an object).' },
  unauthorized: { http: 401, coap: '4.01', title: 'Unauthorized', doc: 'Missing or unknown credential.' },
  forbidden: { http: 403, coap: '4.03', title: 'Forbidden', doc: 'The credential is valid but not for this twin or scope.' },
  not_found: { http: 404, coap: '4.04', title: 'Not found', doc: 'No such twin (or route, or key).' },
  method_not_allowed: { http: 405, coap: '4.05', title: 'Method not allowed', doc: 'A method the resource does not answer; HTTP lists the allowed ones in `Allow`.' },
  already_exists: { http: 409, coap: '4.09', title: 'Already exists', doc: 'Create of an id that exists.' },
  device_offline: { http: 409, coap: '4.09', title: 'Device offline', doc: 'A direct command needs a live device session (WebSocket device session or CoAP observation of its commands); there is none.' },
  command_ended: { http: 409, coap: '4.09', title: 'Command ended', doc: 'The command already ended (succeeded, failed, expired or cancelled): the first answer wins.' },
  job_ended: { http: 409, coap: '4.09', title: 'Job ended', doc: 'The fleet job already ended (completed or cancelled).' },
  version_conflict: { http: 412, coap: '4.12', title: 'Version conflict', doc: 'The expected version differs from the current one; nothing changed.' },
  too_large: { http: 413, coap: '4.13', title: 'Too large', doc: 'Over a size limit (document or request body).' },
  too_deep: { http: 413, coap: '4.13', title: 'Too deep', doc: 'Over the nesting depth limit.' },
  unsupported_format: { http: 415, coap: '4.15', title: 'Unsupported format', doc: 'A content format other than JSON (or CBOR on CoAP).' },
  rate_limited: { http: 429, coap: '4.29', title: 'Rate limited', doc: 'Per-device or per-key request rate exceeded; retry after the given time.' },
  command_timeout: { http: 504, coap: '5.04', title: 'Command timeout', doc: 'The device did not answer a direct command in time; the command ended expired.' },
  unavailable: { http: 503, coap: '5.03', title: 'Unavailable', doc: 'Shutting down, overloaded or a storage failure; nothing changed.' },
  internal: { http: 500, coap: '5.00', title: 'Internal error', doc: 'A bug: the request failed and nothing changed. Reported in the server log.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Structured, machine-readable extras (e.g. `{ expected: 3, actual: 4 }`, `{ position: 12 }`). */
export type ErrorDetails = Record<string, unknown>;

/**
 * A failure with a stable `code`. `public` messages are safe to show a client; internal ones are
 * replaced by a generic message at the edge.
 */
export class DoppelError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  readonly public: boolean;
  /** Seconds a client should wait before retrying (rate limits). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetails; public?: boolean; retryAfter?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DoppelError';
    this.code = code;
    this.details = opts.details;
    this.public = opts.public ?? code !== 'internal';
    this.retryAfter = opts.retryAfter;
  }
}

/** Shorthand constructor: `fail('not_found', 'No twin "x"')`. */
export function fail(code: ErrorCode, message: string, details?: ErrorDetails): DoppelError {
  return new DoppelError(code, message, details === undefined ? {} : { details });
}

/** True for any value carrying one of our codes (works across realms and serialisation). */
export function isDoppelError(err: unknown): err is DoppelError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && Object.hasOwn(ERROR_CODES, (err as { code: string }).code) && err instanceof Error;
}

/** Turns anything thrown into a DoppelError; unknown failures become `internal`. */
export function toDoppelError(err: unknown): DoppelError {
  if (isDoppelError(err)) return err;
  return new DoppelError('internal', 'Internal error', { cause: err, public: false });
}
