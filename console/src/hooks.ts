import { useEffect, useState } from 'preact/hooks';
import type { LiveFleet } from './live.ts';

/** Re-renders the caller after every batch the live feed applies. */
export function useLive(live: LiveFleet): number {
  const [, setRevision] = useState(live.revision);
  useEffect(() => live.subscribe(() => setRevision(live.revision)), [live]);
  return live.revision;
}

/** The current time, refreshed every `ms` (for ages such as "3m"). */
export function useNow(ms = 10_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** An async loader with its error, re-run when `deps` change or `reload` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: Error | undefined; reload: () => void; setData: (t: T) => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((d) => { if (live) { setData(d); setError(undefined); } }, (e: Error) => { if (live) setError(e); });
    return () => { live = false; };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((n) => n + 1), setData };
}
