/**
 * Caps on long-lived streams (WebSocket connections and server-sent event streams): a total, so
 * the server never holds more than it can feed, and one per credential, so one leaky app or
 * device cannot take the whole budget. The admin token counts toward the total only.
 */
import { DoppelError } from '../errors.ts';
import type { Principal } from './principal.ts';

/** Seconds a refused client is told to wait: streams end often enough for a slot to free up. */
const RETRY_AFTER_SECONDS = 5;

export interface StreamQuota {
  /** Throws `unavailable` (the server is full) or `rate_limited` (this credential is) when no slot is free. */
  check(principal: Principal): void;
  /** Takes a slot (after `check`); returns its release, which is safe to call more than once. */
  acquire(principal: Principal): () => void;
  /** Streams open now. */
  readonly open: number;
}

export function createStreamQuota(limits: { maxTotal: number; maxPerCredential: number }): StreamQuota {
  let open = 0;
  const perCredential = new Map<string, number>();
  const credentialOf = (p: Principal) => (p.kind === 'admin' ? null : `${p.kind}:${p.id}`);

  const check = (principal: Principal): void => {
    if (open >= limits.maxTotal) {
      throw new DoppelError('unavailable', `The server holds its maximum of ${limits.maxTotal} streams; try again later`, { retryAfter: RETRY_AFTER_SECONDS });
    }
    const id = credentialOf(principal);
    if (id !== null && (perCredential.get(id) ?? 0) >= limits.maxPerCredential) {
      throw new DoppelError('rate_limited', `This credential holds its maximum of ${limits.maxPerCredential} open streams`, { retryAfter: RETRY_AFTER_SECONDS });
    }
  };

  return {
    check,
    acquire(principal) {
      check(principal);
      const id = credentialOf(principal);
      open++;
      if (id !== null) perCredential.set(id, (perCredential.get(id) ?? 0) + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        open--;
        if (id === null) return;
        const n = perCredential.get(id)! - 1;
        if (n === 0) perCredential.delete(id); else perCredential.set(id, n);
      };
    },
    get open() { return open; },
  };
}
