/**
 * Shared by the fuzz suites: run counts, the crasher corpus, and the invariants every suite checks.
 *
 * Every property runs with a fixed seed, so a run is reproducible and a failure names the seed and
 * the shrunk input. `FUZZ_RUNS=<n>` multiplies every run count by n (e.g. `FUZZ_RUNS=20 npx vitest
 * run test/fuzz` for a long session); `FUZZ_SEED=<n>` replaces every seed, to explore new inputs.
 * An input that found a bug goes into `corpus/<suite>/<name>.json`, and the suite replays it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';

const multiplier = Number(process.env.FUZZ_RUNS ?? '1');
export const FUZZ_RUNS = Number.isFinite(multiplier) && multiplier > 0 ? multiplier : 1;
const seedOverride = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** fast-check parameters: a fixed seed (unless FUZZ_SEED) and `numRuns` times FUZZ_RUNS. */
export function params(seed: number, numRuns: number): { seed: number; numRuns: number } {
  return { seed: seedOverride ?? seed, numRuns: Math.max(1, Math.round(numRuns * FUZZ_RUNS)) };
}

/** A test timeout that grows with FUZZ_RUNS (vitest's default is tuned for the default runs). */
export const timeout = (ms: number): number => Math.round(ms * Math.max(1, FUZZ_RUNS));

export interface CorpusEntry {
  /** File name, for test titles. */
  name: string;
  /** What the input probes and what it once did wrong. */
  about: string;
  [field: string]: unknown;
}

const corpusRoot = join(import.meta.dirname, 'corpus');

/** Every entry of `corpus/<suite>/`, in file-name order. */
export function corpus(suite: string): CorpusEntry[] {
  const dir = join(corpusRoot, suite);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const entry = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
    if (typeof entry.about !== 'string') throw new Error(`corpus/${suite}/${f}: "about" is missing`);
    return { ...entry, about: entry.about, name: f.replace(/\.json$/, '') };
  });
}

export const fromBase64 = (b64: string): Buffer => Buffer.from(b64, 'base64');

const baseline = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  func: Object.getOwnPropertyNames(Function.prototype).sort(),
};

/** No input may have set anything on the shared prototypes (meaningful when the server is in-process). */
export function expectNoPollution(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(baseline.object);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(baseline.array);
  expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(baseline.func);
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'admin', 'a', 'x']) expect(probe[key], key).toBeUndefined();
}

export async function expectHealthy(t: TestServer): Promise<void> {
  const res = await t.call('GET', '/healthz', { token: null });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

/** Stable codes of CONTRACT §3 (and `internal`, which a fuzz input must never cause). */
export const HTTP_STATUS: Readonly<Record<string, number>> = {
  invalid_request: 400, invalid_document: 400, unauthorized: 401, forbidden: 403, not_found: 404, already_exists: 409,
  version_conflict: 412, too_large: 413, too_deep: 413, unsupported_format: 415, rate_limited: 429, unavailable: 503,
};

/** Asserts a problem+json reply with a contract code matching its status, and returns the code. */
export async function expectProblem(res: Response, context: string): Promise<string> {
  const text = await res.text();
  expect(res.headers.get('content-type'), `${context}: ${res.status} ${text}`).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as { code?: string; status?: number; type?: string; detail?: unknown };
  expect(Object.keys(HTTP_STATUS), `${context}: ${text}`).toContain(body.code);
  expect(res.status, `${context}: ${text}`).toBe(HTTP_STATUS[body.code!]);
  expect(body.status).toBe(res.status);
  expect(body.type).toBe(`urn:doppel:problem:${body.code}`);
  expect(typeof body.detail).toBe('string');
  return body.code!;
}

let gcFn: (() => void) | undefined;
/** Heap in use after a full collection (gc exposed at run time, since vitest's workers lack --expose-gc). */
export function heapAfterGc(): number {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed;
}
