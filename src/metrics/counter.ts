import { fail } from '../errors.ts';
import { SeriesTable } from './series.ts';
import { headerLines, sampleLine } from './text.ts';
import type { Counter, CounterOptions, Labels, MetricFamily } from './types.ts';

interface Cell { value: number }

export function createCounter(options: CounterOptions, labelNames: readonly string[]): { handle: Counter; family: MetricFamily } {
  const { name, help, collect } = options;
  const table = new SeriesTable<Cell>(name, labelNames, () => ({ value: 0 }));

  function add(labels: Labels | undefined, value: number): void {
    // `!(value >= 0)` also catches NaN, which would poison the series forever.
    if (!(value >= 0)) throw fail('internal', `Counter "${name}" cannot go down: ${value}`);
    table.get(labels).value += value;
  }

  const handle: Counter = {
    inc(labelsOrValue?: Labels | number, value?: number): void {
      if (typeof labelsOrValue === 'number') add(undefined, labelsOrValue);
      else add(labelsOrValue, value ?? 1);
    },
  };

  const family: MetricFamily = {
    name,
    render(out) {
      headerLines(out, name, help, 'counter');
      if (collect !== undefined) { out.push(sampleLine(name, '', collect())); return; }
      for (const row of table.rows()) out.push(sampleLine(name, row.labelText, row.series.value));
    },
  };

  return { handle, family };
}
