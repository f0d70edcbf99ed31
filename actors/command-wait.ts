/**
 * Long polls and direct invocations: waiting for a command to end. Listens before reading, so a
 * change relayed from the owner that overtakes the read is not missed, and wakes at `expiresAt`
 * too (reading the command then expires it).
 */
import { isEnded } from '../src/twin/commands.ts';
import type { Command } from '../src/twin/commands.ts';

export interface WaitDeps {
  listen(id: string, listener: (command: Command) => void): () => void;
  get(id: string, cid: string): Promise<Command>;
  now(): Date;
  /** Counts waiters in (+1) and out (-1), for the gauge. */
  waiting(delta: number): void;
}

/**
 * The command once it has ended, or as it is after `waitMs` (long poll), or as it is when
 * `signal` aborts (the client went away, the server is draining).
 */
export async function waitForEnd(deps: WaitDeps, id: string, cid: string, waitMs: number, signal?: AbortSignal): Promise<Command> {
  let wake!: () => void;
  const woken = new Promise<void>((resolve) => { wake = resolve; });
  let heard: Command | null = null;
  // Listening before the read: a change relayed from the owner may overtake the read's reply.
  const stop = deps.listen(id, (c) => {
    if (c.id !== cid) return;
    heard = c;
    if (isEnded(c.status)) wake();
  });
  let latest = await deps.get(id, cid).catch((err: unknown) => { stop(); throw err; });
  // The newer of the read and what was heard (an ended one wins).
  const pick = () => { const h = heard as Command | null; if (h !== null && !isEnded(latest.status) && (isEnded(h.status) || h.updatedAt > latest.updatedAt)) latest = h; };
  pick();
  if (isEnded(latest.status) || waitMs <= 0 || signal?.aborted === true) { stop(); return latest; }
  // Woken at expiresAt too: reading the command then expires it.
  const untilExpiry = latest.expiresAt === undefined ? Infinity : Date.parse(latest.expiresAt) - deps.now().getTime() + 1;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; wake(); }, Math.max(0, Math.min(waitMs, untilExpiry)));
  signal?.addEventListener('abort', wake, { once: true });
  deps.waiting(1);
  try {
    await woken;
  } finally {
    deps.waiting(-1);
    clearTimeout(timer);
    signal?.removeEventListener('abort', wake);
    stop();
  }
  pick();
  // After an abort (a drain refuses new work) the last known state is the answer.
  const aborted = (signal as AbortSignal | undefined)?.aborted ?? false;
  return timedOut && !aborted && !isEnded(latest.status) ? deps.get(id, cid) : latest;
}
