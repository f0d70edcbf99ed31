/**
 * Mixed write load for the fault tests: HTTP PATCHes of desired, WebSocket patches of desired
 * and CoAP reports of reported (each device with its own token), spread over many twins, every
 * acknowledged write recorded with the version it was given. Each writer writes its own key with
 * increasing values, so an acknowledged write is identifiable in history forever after:
 * the event at `version` must be exactly `{[key]: value}` in that section.
 */
import WebSocket from 'ws';
import { RawClient } from '../coap/helpers.ts';
import type { ChangeEvent, JsonObject } from '../../src/twin/types.ts';
import { applyMergePatch } from '../../src/twin/index.ts';
import { ADMIN } from '../support/server.ts';

export type Via = 'http' | 'ws' | 'coap';
export interface Ack { twin: string; version: number; section: 'desired' | 'reported'; key: string; value: number; via: Via }

/** What writers saw besides acknowledgements: refusals by code, and anything unexpected. */
export interface Outcomes {
  acks: Ack[];
  /** `unavailable` answers (503, 5.03, WS error) per edge: allowed while a server drains. */
  unavailable: Record<Via, number>;
  /** Answers no fault should produce (a 500, a 4.00, an unknown WS error…), with detail. */
  unexpected: string[];
  /** Close codes of the writers' WebSockets. */
  wsCloseCodes: number[];
}

export const newOutcomes = (): Outcomes => ({ acks: [], unavailable: { http: 0, ws: 0, coap: 0 }, unexpected: [], wsCloseCodes: [] });

export interface Fleet { ids: string[]; tokens: Map<string, string> }

const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

/** Creates `n` twins `fault-<i>` and a device token for each. */
export async function seedFleet(url: string, n: number): Promise<Fleet> {
  const ids = Array.from({ length: n }, (_, i) => `fault-${i}`);
  const tokens = new Map<string, string>();
  await Promise.all(ids.map(async (id) => {
    const created = await fetch(`${url}/v1/twins`, { method: 'POST', headers: auth, body: JSON.stringify({ id }) });
    if (created.status !== 201) throw new Error(`create ${id}: ${created.status}`);
    const issued = await fetch(`${url}/v1/twins/${id}/token`, { method: 'POST', headers: auth });
    tokens.set(id, ((await issued.json()) as { token: string }).token);
  }));
  return { ids, tokens };
}

interface Stopped { now: boolean; signal: Promise<void> }

export interface LoadShape { http: number; ws: number; coap: number }

/**
 * Starts the writers against one server incarnation; `stop()` ends them and resolves when every
 * writer has returned. `tag` makes keys unique across incarnations (e.g. the cycle number).
 */
export function startMixedLoad(server: { url: string; coapPort: number }, fleet: Fleet, shape: LoadShape, tag: string, out: Outcomes): { stop(): Promise<void> } {
  let signal!: () => void;
  const stopped: Stopped = { now: false, signal: new Promise<void>((resolve) => { signal = resolve; }) };
  const pick = (w: number, n: number) => fleet.ids[(w * 7 + n * 13) % fleet.ids.length]!;
  const writers: Array<Promise<void>> = [];
  for (let w = 0; w < shape.http; w++) writers.push(httpWriter(server.url, `h${tag}_${w}`, (n) => pick(w, n), stopped, out));
  for (let w = 0; w < shape.ws; w++) writers.push(wsWriter(server.url, `s${tag}_${w}`, (n) => pick(w + 101, n), stopped, out));
  for (let w = 0; w < shape.coap; w++) writers.push(coapWriter(server.coapPort, fleet, `c${tag}_${w}`, (n) => pick(w + 211, n), stopped, out));
  return { stop: async () => { stopped.now = true; signal(); await Promise.all(writers); } };
}

async function httpWriter(url: string, key: string, twinFor: (n: number) => string, stopped: Stopped, out: Outcomes): Promise<void> {
  for (let value = 1; !stopped.now; value++) {
    const twin = twinFor(value);
    let res: Response;
    try {
      res = await fetch(`${url}/v1/twins/${twin}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ desired: { [key]: value } }) });
    } catch {
      return; // the server went away mid-request: not acknowledged
    }
    let body: { version?: number; code?: string };
    try {
      body = await res.json() as { version?: number; code?: string };
    } catch {
      return; // the server died while sending the reply: the status line alone acknowledges nothing
    }
    if (res.status === 200 && typeof body.version === 'number') out.acks.push({ twin, version: body.version, section: 'desired', key, value, via: 'http' });
    else if (res.status === 503 && body.code === 'unavailable') out.unavailable.http++;
    else out.unexpected.push(`http ${res.status} ${JSON.stringify(body)}`);
  }
}

async function wsWriter(url: string, key: string, twinFor: (n: number) => string, stopped: Stopped, out: Outcomes): Promise<void> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const closed = new Promise<void>((resolve) => ws.once('close', (code) => { out.wsCloseCodes.push(code); resolve(); }));
  ws.on('error', () => {});
  const opened = await new Promise<boolean>((resolve) => { ws.once('open', () => resolve(true)); ws.once('close', () => resolve(false)); });
  if (!opened) return;
  const waiting = new Map<string, (m: Record<string, unknown>) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    waiting.get(m.ref as string)?.(m);
  });
  for (let value = 1; !stopped.now && ws.readyState === WebSocket.OPEN; value++) {
    const twin = twinFor(value);
    const ref = String(value);
    const reply = await new Promise<Record<string, unknown> | null>((resolve) => {
      waiting.set(ref, resolve);
      void closed.then(() => resolve(null));
      ws.send(JSON.stringify({ op: 'patch', ref, twin, desired: { [key]: value } }));
    });
    waiting.delete(ref);
    if (reply === null) break; // closed before the reply: not acknowledged
    if (reply.op === 'ok' && typeof reply.version === 'number') out.acks.push({ twin, version: reply.version, section: 'desired', key, value, via: 'ws' });
    else if (reply.op === 'error' && reply.code === 'unavailable') out.unavailable.ws++;
    else out.unexpected.push(`ws ${JSON.stringify(reply)}`);
  }
  if (ws.readyState === WebSocket.OPEN) ws.close();
  await closed;
}

async function coapWriter(port: number, fleet: Fleet, key: string, twinFor: (n: number) => string, stopped: Stopped, out: Outcomes): Promise<void> {
  const client = await RawClient.open(port);
  try {
    for (let value = 1; !stopped.now; value++) {
      const twin = twinFor(value);
      const request = client.request({ method: 'PUT', path: `/t/${twin}/reported`, query: [`token=${fleet.tokens.get(twin)!}`], format: 50, payload: JSON.stringify({ [key]: value }) }, 1500);
      // No answer (server killed or stopped) means not acknowledged; on stop, do not wait it out.
      const reply = await Promise.race([request.catch(() => null), stopped.signal.then(() => null)]);
      if (reply === null) continue;
      const text = reply.payload.toString('utf8');
      // The reply {version, delta} grows with the delta; past 1 KiB it comes block-wise and this
      // is its first block, which always starts with the version.
      const version = /^\{"version":(\d+)/.exec(text)?.[1];
      if (reply.code === '2.04' && version !== undefined) out.acks.push({ twin, version: Number(version), section: 'reported', key, value, via: 'coap' });
      else if (reply.code === '5.03' && text.startsWith('unavailable')) out.unavailable.coap++;
      else out.unexpected.push(`coap ${reply.code} ${text}`);
    }
  } finally {
    await client.close();
  }
}

/** Every change event of `twin`, oldest first. */
export async function allHistory(url: string, twin: string): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  for (let since = 0; ;) {
    const res = await fetch(`${url}/v1/twins/${twin}/history?since=${since}&limit=1000`, { headers: auth });
    if (res.status !== 200) throw new Error(`history of ${twin}: ${res.status}`);
    const page = await res.json() as { items: ChangeEvent[]; next: number | null };
    events.push(...page.items);
    if (page.next === null) return events;
    since = page.next;
  }
}

/**
 * The durability check, as failures (empty when everything holds): for every twin, versions are
 * contiguous from 1, history replays to exactly the stored desired and reported, and every
 * acknowledged write is the event at its version; and the newest acknowledged value of each key
 * is still there (or a later one from the same writer).
 */
export async function verifyDurability(url: string, fleet: Fleet, acks: readonly Ack[]): Promise<string[]> {
  const failures: string[] = [];
  const byTwin = new Map<string, Ack[]>();
  for (const a of acks) byTwin.set(a.twin, [...(byTwin.get(a.twin) ?? []), a]);
  for (const twin of fleet.ids) {
    const res = await fetch(`${url}/v1/twins/${twin}`, { headers: auth });
    if (res.status !== 200) { failures.push(`${twin}: GET ${res.status}`); continue; }
    const state = await res.json() as { version: number; desired: JsonObject; reported: JsonObject };
    const events = await allHistory(url, twin);
    const versions = events.map((e) => e.version);
    if (versions.length !== state.version || versions.some((v, i) => v !== i + 1)) {
      failures.push(`${twin}: history versions ${versions[0]}…${versions.at(-1)} (${versions.length}) for version ${state.version}`);
      continue;
    }
    let desired: JsonObject = {};
    let reported: JsonObject = {};
    for (const e of events) {
      if (e.patch.desired !== undefined) desired = applyMergePatch(desired, e.patch.desired).value;
      if (e.patch.reported !== undefined) reported = applyMergePatch(reported, e.patch.reported).value;
    }
    if (JSON.stringify(desired) !== JSON.stringify(state.desired)) failures.push(`${twin}: history does not replay to desired`);
    if (JSON.stringify(reported) !== JSON.stringify(state.reported)) failures.push(`${twin}: history does not replay to reported`);
    for (const a of byTwin.get(twin) ?? []) {
      const patch = events[a.version - 1]?.patch[a.section];
      if (JSON.stringify(patch) !== JSON.stringify({ [a.key]: a.value })) {
        failures.push(`${twin}: acknowledged ${a.via} write ${a.key}=${a.value} at version ${a.version} missing (event: ${JSON.stringify(events[a.version - 1]?.patch)})`);
      }
    }
    const newest = new Map<string, Ack>();
    for (const a of byTwin.get(twin) ?? []) if ((newest.get(a.key)?.value ?? 0) < a.value) newest.set(a.key, a);
    for (const a of newest.values()) {
      const now = (a.section === 'desired' ? state.desired : state.reported)[a.key];
      if (typeof now !== 'number' || now < a.value) failures.push(`${twin}: ${a.section}.${a.key} is ${JSON.stringify(now)}, acknowledged ${a.value}`);
    }
  }
  return failures;
}
