import { fail } from '../errors.ts';
import { SeriesTable } from './series.ts';
import { formatValue, headerLines, sampleLine } from './text.ts';
import type { Histogram, HistogramOptions, Labels, MetricFamily } from './types.ts';

interface Cell {
  /** Per-bucket counts, not cumulative (one increment per observation); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Checks the bounds and drops a trailing +Inf, which every histogram gets anyway. */
function upperBounds(name: string, buckets: readonly number[]): number[] {
  const bounds = buckets.at(-1) === Infinity ? buckets.slice(0, -1) : [...buckets];
  bounds.forEach((b, i) => {
    if (!Number.isFinite(b)) throw fail('internal', `Histogram "${name}" has a non-finite bucket: ${b}`);
    if (i > 0 && b <= (bounds[i - 1] as number)) throw fail('internal', `Histogram "${name}" buckets must increase: ${b}`);
  });
  return bounds;
}

export function createHistogram(options: HistogramOptions, labelNames: readonly string[]): { handle: Histogram; family: MetricFamily } {
  const { name, help } = options;
  if (labelNames.includes('le')) throw fail('internal', `Histogram "${name}" cannot use the reserved label "le"`);
  const bounds = upperBounds(name, options.buckets);
  const leTexts = [...bounds.map(formatValue), '+Inf'].map((le) => `le="${le}"`);
  const table = new SeriesTable<Cell>(name, labelNames, () => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 }));

  function record(labels: Labels | undefined, value: number): void {
    const cell = table.get(labels);
    let i = 0;
    // Buckets are few (about ten); a linear scan beats a binary search at that size.
    while (i < bounds.length && !(value <= (bounds[i] as number))) i++;
    cell.counts[i] = (cell.counts[i] as number) + 1;
    cell.sum += value;
    cell.count++;
  }

  const handle: Histogram = {
    observe(labelsOrValue: Labels | number | undefined, value?: number): void {
      if (typeof labelsOrValue === 'number') record(undefined, labelsOrValue);
      else record(labelsOrValue, value ?? Number.NaN);
    },
  };

  const family: MetricFamily = {
    name,
    render(out) {
      headerLines(out, name, help, 'histogram');
      for (const { labelText, series } of table.rows()) {
        const prefix = labelText === '' ? '' : `${labelText},`;
        let cumulative = 0;
        for (let i = 0; i < leTexts.length; i++) {
          cumulative += series.counts[i] as number;
          out.push(`${name}_bucket{${prefix}${leTexts[i] as string}} ${formatValue(cumulative)}`);
        }
        out.push(sampleLine(`${name}_sum`, labelText, series.sum), sampleLine(`${name}_count`, labelText, series.count));
      }
    },
  };

  return { handle, family };
}
