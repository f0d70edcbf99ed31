/** Reading the server's Prometheus text from tests: the same view an operator's scraper gets. */
import type { TestServer } from './server.ts';

/** A metric sample from `GET /metrics`, or undefined when the series is absent. */
export async function metric(t: TestServer, series: string): Promise<number | undefined> {
  const text = await (await t.call('GET', '/metrics')).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
