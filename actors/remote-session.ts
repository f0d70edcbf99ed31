/**
 * A device session held on this node for a twin owned by another (cluster mode). The owner hears
 * of it only through contacts, so the session touches the twin every third of the liveness
 * window while it is open (a routed, in-memory touch on the owner; no store write), keeping it
 * online there even if one touch is late or lost, and once more on close.
 */

/** Starts the touches; returns the detach function (idempotent). */
export function keepSeenRemotely(touch: () => Promise<unknown>, livenessMs: number): () => void {
  const once = (): void => { touch().catch(() => undefined); };
  const timer = setInterval(once, Math.max(1, Math.floor(livenessMs / 3)));
  timer.unref?.();
  let done = false;
  return () => { if (!done) { done = true; clearInterval(timer); once(); } };
}
