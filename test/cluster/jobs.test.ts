/**
 * Fleet jobs across a cluster: three Doppel nodes (child processes) on a three-server NATS
 * cluster. A job over twins owned by all three nodes completes with its progress the same on
 * every node (a patch job and a queued-command job); a cancel sent to another node than the runner stops it; a kill -9 of the runner
 * mid-job hands the job to another node, which finishes it with every twin changed exactly once.
 *
 * The nodes pause a second between a job's batches (`--job-pause-ms`): a 400-twin job then takes
 * at least 6 s whatever the machine's speed, so a cancel sent once it is underway finds it running,
 * and a runner spends most of its time between batches, so "mid-batch" is easy to see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { eventually } from '../support/eventually.ts';
import { createTwins, jobEvents } from '../jobs/helpers.ts';
import type { JobJson } from '../jobs/helpers.ts';
import { shardOf } from '../../src/cluster/shards.ts';
import { storeNames, twinSubject } from '../../src/store/jetstream/names.ts';
import { INDEX_HEADERS } from '../../src/store/jetstream/record.ts';
import { json, leaseHolder, startThreeNodes } from './support.ts';
import type { DoppelNode, ThreeNodes } from './support.ts';

type Node = DoppelNode & { stop(): Promise<void> };

let cluster: ThreeNodes;
let nodes: Node[] = [];

beforeAll(async () => {
  cluster = await startThreeNodes(['--job-pause-ms', '1000']);
  nodes = cluster.nodes;
}, 120_000);
afterAll(async () => { await cluster?.stop(); }, 60_000);

const job = async (node: Node, id: string): Promise<JobJson> => json<JobJson>(await node.call('GET', `/v1/jobs/${id}`), 200);
const ended = (node: Node, id: string, timeoutMs = 120_000): Promise<JobJson> => eventually(async () => {
  const j = await job(node, id);
  return j.status === 'running' ? undefined : j;
}, `job ${id} to end`, timeoutMs);
/** Once some twins are done, with more to go: the moment to cancel or kill. */
const underway = (node: Node, id: string): Promise<JobJson> => eventually(async () => {
  const j = await job(node, id);
  return j.done > 0 ? j : undefined;
}, `job ${id} to make progress`, 60_000);

/** The node holding the job's lease (its runner), read from the lease bucket. */
async function runnerOf(id: string): Promise<string | undefined> {
  const nc = await natsConnect({ servers: cluster.nats.urls.filter((_, i) => cluster.nats.nodes[i]!.alive), timeout: 2_000 });
  try {
    const entry = await (await new Kvm(jetstream(nc)).open('dpl_doppel_leases')).get(`j.${id}`);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const lease = JSON.parse(entry.string()) as { holder: string; expiresAt: number };
    return lease.expiresAt > Date.now() ? lease.holder : undefined;
  } finally {
    await nc.close();
  }
}

/**
 * Takes over the dead runner's job lease for the test itself (a compare-and-set, as a node would),
 * so no node adopts the job until `free` is called: what happens before the adoption is ordered.
 */
async function holdJobLease(id: string, deadHolder: string): Promise<{ free(): Promise<void> }> {
  const nc = await natsConnect({ servers: cluster.nats.urls.filter((_, i) => cluster.nats.nodes[i]!.alive), timeout: 2_000 });
  const kv = await new Kvm(jetstream(nc)).open('dpl_doppel_leases');
  const entry = await kv.get(`j.${id}`);
  expect(entry?.operation).toBe('PUT');
  expect((JSON.parse(entry!.string()) as { holder: string }).holder).toBe(deadHolder); // not adopted yet
  const held = await kv.update(`j.${id}`, JSON.stringify({ holder: 'test', instance: 'test', expiresAt: Date.now() + 120_000 }), entry!.revision);
  return {
    free: async () => {
      await kv.update(`j.${id}`, JSON.stringify({ holder: 'test', instance: 'test', expiresAt: 0 }), held);
      await nc.close();
    },
  };
}

/** Twins whose latest record still carries a done-mark of `job` (read from the twin stream's headers). */
async function markedTwins(ids: string[], job: string): Promise<string[]> {
  const nc = await natsConnect({ servers: cluster.nats.urls.filter((_, i) => cluster.nats.nodes[i]!.alive), timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const names = storeNames('doppel');
    const marked = await Promise.all(ids.map(async (id) => {
      const msg = await jsm.streams.getMessage(names.stream, { last_by_subj: twinSubject(names, id) });
      return (msg?.header.get(INDEX_HEADERS.jobMarks) ?? '').split(',').includes(job) ? [id] : [];
    }));
    return marked.flat();
  } finally {
    await nc.close();
  }
}

/** Ids of the twins under `prefix` matching `filter`, every page. */
async function listIds(node: Node, prefix: string, filter: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `prefix=${prefix}&limit=1000&filter=${encodeURIComponent(filter)}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: { items: { id: string }[]; next: string | null } = await json(await node.call('GET', `/v1/twins?${query}`), 200);
    out.push(...page.items.map((t) => t.id));
    cursor = page.next;
  } while (cursor !== null);
  return out;
}

/** Runs `fn` over `items`, 16 at a time. */
async function mapInChunks<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 16) await Promise.all(items.slice(i, i + 16).map(fn));
}

describe('fleet jobs across nodes', () => {
  it('applies a job to matching twins owned by all three nodes, once each, with the same progress on every node', async () => {
    const call = nodes[0]!.call;
    const ids = await createTwins(call, 'cj-a-', 90, (i) => ({ site: i % 3 === 0 ? 'berlin' : 'paris' }));
    const shards = [...new Set(ids.map(shardOf))];
    const owners = new Set(await Promise.all(shards.map(async (s) => leaseHolder(cluster.nats, ids.find((id) => shardOf(id) === s)!))));
    expect([...owners].sort()).toEqual(['a', 'b', 'c']);
    const started = await json<JobJson>(await nodes[1]!.call('POST', '/v1/jobs', { filter: 'tags.site == "berlin"', prefix: 'cj-a-', desired: { fw: '2.0' } }), 202);
    const done = await ended(nodes[2]!, started.id);
    expect(done).toMatchObject({ status: 'completed', matched: 30, done: 30, failed: 0, scanned: 90 });
    for (const node of nodes) {
      expect(await job(node, started.id)).toEqual(done);
      const { items } = await json<{ items: JobJson[] }>(await node.call('GET', '/v1/jobs'), 200);
      expect(items.map((j) => j.id)).toContain(started.id);
    }
    const events = await jobEvents(call, ids, started.id);
    ids.forEach((id, i) => expect(events.get(id), id).toBe(i % 3 === 0 ? 1 : 0));
    expect(await json<{ desired: unknown }>(await nodes[2]!.call('GET', '/v1/twins/cj-a-00003'), 200)).toMatchObject({ desired: { fw: '2.0' } });
    expect(await runnerOf(started.id)).toBeUndefined(); // the lease is freed once the job ended
    expect(await markedTwins(ids, started.id)).toEqual([]); // and its done-marks are gone
  }, 180_000);

  it('queues a command job\'s command once on each matching twin, whichever node owns it', async () => {
    const ids = await createTwins(nodes[0]!.call, 'cj-q-', 30, (i) => ({ ring: i % 2 === 0 ? 'beta' : 'stable' }));
    const started = await json<JobJson>(await nodes[2]!.call('POST', '/v1/jobs', { filter: 'tags.ring == "beta"', prefix: 'cj-q-', command: { name: 'reboot', ttlSeconds: 600 } }), 202);
    expect(await ended(nodes[0]!, started.id)).toMatchObject({ status: 'completed', matched: 15, done: 15, failed: 0, scanned: 30 });
    for (const [i, id] of ids.entries()) {
      const { items } = await json<{ items: { name: string }[] }>(await nodes[1]!.call('GET', `/v1/twins/${id}/commands`), 200);
      expect(items.map((c) => c.name), id).toEqual(i % 2 === 0 ? ['reboot'] : []);
    }
    expect(await markedTwins(ids, started.id)).toEqual([]);
  }, 120_000);

  it('cancels a job from a node that is not its runner: the runner stops', async () => {
    const ids = await createTwins(nodes[0]!.call, 'cj-c-', 400, () => ({}));
    const started = await json<JobJson>(await nodes[0]!.call('POST', '/v1/jobs', { filter: 'exists(id)', prefix: 'cj-c-', desired: { mode: 'eco' } }), 202);
    await underway(nodes[0]!, started.id);
    const runner = await runnerOf(started.id);
    const other = nodes.find((n) => n.id !== runner)!;
    const cancelled = await json<JobJson>(await other.call('DELETE', `/v1/jobs/${started.id}`), 200);
    expect(cancelled.status).toBe('cancelled');
    for (const node of nodes) expect(await job(node, started.id)).toMatchObject({ status: 'cancelled', done: cancelled.done });
    // The runner lets go within a tick; what it applied after the cancel is at most its batch in flight.
    await eventually(async () => ((await runnerOf(started.id)) === undefined ? true : undefined), 'the runner to stop', 30_000);
    const events = await jobEvents(nodes[1]!.call, ids, started.id);
    const changed = [...events.values()].filter((n) => n === 1).length;
    expect([...events.values()].every((n) => n <= 1)).toBe(true);
    expect(changed).toBeGreaterThanOrEqual(cancelled.done);
    expect(changed).toBeLessThan(ids.length);
    await json(await other.call('DELETE', `/v1/jobs/${started.id}`), 409);
    // Marks the runner added after the cancel's cleanup are swept by a later tick.
    await eventually(async () => ((await markedTwins(ids, started.id)).length === 0 ? true : undefined), 'the done-marks to be dropped', 30_000);
  }, 180_000);

  it('finishes the job on another node after a kill -9 of its runner, changing every twin exactly once', async () => {
    const ids = await createTwins(nodes[0]!.call, 'cj-k-', 600, () => ({}));
    const creator = nodes[2]!;
    const started = await json<JobJson>(await creator.call('POST', '/v1/jobs', { filter: 'exists(id)', prefix: 'cj-k-', desired: { fw: '3.1' } }), 202);
    expect(await runnerOf(started.id)).toBe(creator.id); // the creating node runs it
    // Killed mid-batch, past the first one: the twin right after the stored cursor changed, so the
    // batch in flight holds changed twins the cursor does not cover yet; the next runner meets them again.
    await eventually(async () => {
      const { scanned } = await job(creator, started.id);
      if (scanned === 0 || scanned >= ids.length) return undefined;
      const twin = await json<{ desired: { fw?: string } }>(await creator.call('GET', `/v1/twins/${ids[scanned]!}`), 200);
      return twin.desired.fw === '3.1' ? true : undefined;
    }, 'the job to be mid-batch', 60_000);
    await creator.child.kill('SIGKILL');
    // Its lease has 3 s left at least: taken over now, no node adopts the job until the test lets go.
    const lease = await holdJobLease(started.id, creator.id);
    nodes.splice(nodes.indexOf(creator), 1);
    await creator.stop();
    const survivor = nodes[0]!;
    const before = await job(survivor, started.id); // the stored progress at the kill
    expect(before.status).toBe('running'); // killed mid-job: another node must finish it
    // A user changes again what the job changed past its stored cursor: a runner applying the job
    // twice (the done-mark check broken) would overwrite it. Those patches must land BEFORE any
    // node adopts the job, or a second application would come first and the user's patch hide it:
    // the test holds the job's lease until they have.
    const unsaved = (await listIds(survivor, 'cj-k-', 'desired.fw == "3.1"')).filter((id) => id >= ids[before.scanned]!);
    expect(unsaved.length).toBeGreaterThan(0);
    await mapInChunks(unsaved, (id) => eventually(async () => ((await survivor.call('PATCH', `/v1/twins/${id}`, { desired: { fw: 'user' } })).status === 200 ? true : undefined), `patch ${id}`, 30_000));
    expect(await runnerOf(started.id)).toBe('test');
    expect((await job(survivor, started.id)).scanned).toBe(before.scanned); // nothing ran meanwhile
    await lease.free();
    const after = await ended(survivor, started.id, 150_000);
    expect(after).toMatchObject({ status: 'completed', matched: 600, done: 600, failed: 0, scanned: 600 });
    const events = await jobEvents(survivor.call, ids, started.id);
    expect([...events.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect((await listIds(survivor, 'cj-k-', 'desired.fw == "user"')).sort()).toEqual([...unsaved].sort());
    expect(await markedTwins(ids, started.id)).toEqual([]);
  }, 300_000);
});
