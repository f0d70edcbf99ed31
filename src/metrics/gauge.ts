import { formatLabels, SeriesTable } from './series.ts';
import { headerLines, sampleLine } from './text.ts';
import type { Gauge, GaugeOptions, Labels, MetricFamily } from './types.ts';

interface Cell { value: number }

export function createGauge(options: GaugeOptions, labelNames: readonly string[]): { handle: Gauge; family: MetricFamily } {
  const { name, help, collect } = options;
  const table = new SeriesTable<Cell>(name, labelNames, () => ({ value: 0 }));

  function renderCollected(out: string[], collected: NonNullable<GaugeOptions['collect']>): void {
    const result = collected();
    if (typeof result === 'number') {
      out.push(sampleLine(name, formatLabels(name, labelNames, undefined), result));
      return;
    }
    for (const sample of result) out.push(sampleLine(name, formatLabels(name, labelNames, sample.labels), sample.value));
  }

  const handle: Gauge = {
    set(labelsOrValue: Labels | number | undefined, value?: number): void {
      if (typeof labelsOrValue === 'number') table.get(undefined).value = labelsOrValue;
      else table.get(labelsOrValue).value = value ?? Number.NaN;
    },
    inc(labelsOrValue?: Labels | number, value?: number): void {
      if (typeof labelsOrValue === 'number') table.get(undefined).value += labelsOrValue;
      else table.get(labelsOrValue).value += value ?? 1;
    },
    dec(labelsOrValue?: Labels | number, value?: number): void {
      if (typeof labelsOrValue === 'number') table.get(undefined).value -= labelsOrValue;
      else table.get(labelsOrValue).value -= value ?? 1;
    },
  };

  const family: MetricFamily = {
    name,
    render(out) {
      headerLines(out, name, help, 'gauge');
      if (collect !== undefined) {
        renderCollected(out, collect);
        return;
      }
      for (const row of table.rows()) out.push(sampleLine(name, row.labelText, row.series.value));
    },
  };

  return { handle, family };
}
