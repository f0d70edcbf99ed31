/**
 * @module
 * What a delivery worker sends through: one target per connector, of its kind. `send` resolves
 * once the target acknowledged (2xx, JetStream/NATS flush, MQTT PUBACK) and rejects otherwise.
 */
import type { OutboxEntry } from '../../store/types.ts';

export interface Target {
  /** Delivers `body` (the JSON of `{type, event}`) for `entry`; rejects with a `DeliveryError`-like reason. */
  send(entry: OutboxEntry, body: string, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A failed delivery; `retryAfterMs` when the target said when to come back (HTTP `Retry-After`). */
export class DeliveryError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'DeliveryError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** Rejects after `ms` (or on abort) unless `work` settles first. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => { clearTimeout(timer); reject(new DeliveryError(`${what}: aborted`)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); reject(new DeliveryError(`${what}: no answer within ${ms} ms`)); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); resolve(v); },
      (err: unknown) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}
