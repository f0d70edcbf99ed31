/**
 * The seam between the actors and the protocol edges, checked on the source: edges follow changes
 * only through the stream API (`openTwinStream`, `openPrefixStream`), never through the change
 * feed, the bus, or the raw subscription primitives, so a cluster feed can replace the bus
 * without touching an edge.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const protocols = fileURLToPath(new URL('../../protocols/', import.meta.url));
const sources = (readdirSync(protocols, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => ({ file: f, text: readFileSync(join(protocols, f), 'utf8') }));

const FORBIDDEN: [string, RegExp][] = [
  ['the bus', /\.bus\b|\bEventBus\b|['"][^'"]*event-bus[^'"]*['"]/],
  ['the change feed', /\.feed\b|\bChangeFeed\b|\bTwinNotice\b|['"][^'"]*change-feed[^'"]*['"]/],
  ['the buffer under the streams', /\bLiveBuffer\b|['"][^'"]*live-buffer[^'"]*['"]/],
  ['the raw subscription primitives', /\btwins\.(subscribe|attachDevice)\(|\.subscribePrefix\(/],
];

describe('protocols/** and the actors', () => {
  it('finds the edge sources to check', () => {
    expect(sources.map((s) => s.file)).toEqual(expect.arrayContaining([join('ws', 'subscriptions.ts'), join('coap', 'observe.ts'), join('http', 'routes', 'history.ts')]));
  });

  for (const [what, pattern] of FORBIDDEN) {
    it(`no edge references ${what}`, () => {
      const offenders = sources.filter((s) => pattern.test(s.text)).map((s) => s.file);
      expect(offenders).toEqual([]);
    });
  }
});
