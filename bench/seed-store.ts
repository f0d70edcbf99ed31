/**
 * Seeding straight into a data directory's LevelDB store, before the server starts (it holds the
 * store's lock once running): the same create plan and atomic commit the twin actor makes, without
 * HTTP, so 100,000 twins take seconds instead of minutes. bench/scale.ts seeds its own way (its
 * documents vary per twin); HTTP seeding (bench/seed.ts) remains for twins that need device tokens.
 */
import { join } from 'node:path';
import { createLevelStore, pendingIndexOps } from '../src/store/index.ts';
import { planCreate } from '../src/twin/index.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';

/** Commits in flight at once: LevelDB's group commit batches them. */
const IN_FLIGHT = 256;

/** Seeds twins `<prefix>0` … `<prefix><n-1>`, each with `init` (desired and tags), into `<dataDir>/db`. */
export async function seedStore(dataDir: string, n: number, prefix: string, init: { desired?: unknown; tags?: unknown }): Promise<{ seconds: number }> {
  const store = createLevelStore({ path: join(dataDir, 'db'), sync: false });
  await store.open();
  const started = performance.now();
  const now = new Date().toISOString();
  let next = 0;
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) {
        const { state, event } = planCreate(`${prefix}${next++}`, init, { now, via: 'http', limits: DEFAULT_LIMITS });
        // The ops the twin actor commits for a create: snapshot, event, pending-index entry.
        await store.commit([{ type: 'putTwin', twin: state }, { type: 'putEvent', event }, ...pendingIndexOps(null, state)]);
      }
    }));
  } finally {
    await store.close();
  }
  return { seconds: (performance.now() - started) / 1000 };
}
