/** Shared steps of the fleet job tests. */
export type JobJson = { id: string; status: string; matched: number; done: number; failed: number; scanned: number; prefix: string; filter: string };
export type HistoryJson = { items: { clientToken?: string; patch: Record<string, unknown> }[] };

type Call = (method: string, path: string, body?: unknown, token?: string) => Promise<Response>;

/** Creates `n` twins `{prefix}{0000…}` with `tags`, a few at a time. */
export async function createTwins(call: Call, prefix: string, n: number, tags: (i: number) => Record<string, unknown>): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map(async (id, k) => {
      const res = await call('POST', '/v1/twins', { id, tags: tags(i + k) });
      if (res.status !== 201) throw new Error(`create ${id}: ${res.status}`);
    }));
  }
  return ids;
}

/** How many history events of each twin carry the job's clientToken. */
export async function jobEvents(call: Call, ids: string[], job: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map(async (id) => {
      const { items } = await (await call('GET', `/v1/twins/${id}/history?limit=1000`)).json() as HistoryJson;
      out.set(id, items.filter((e) => e.clientToken === `job:${job}`).length);
    }));
  }
  return out;
}
