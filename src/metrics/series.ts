import { fail } from '../errors.ts';
import type { Labels } from './types.ts';
import { escapeLabelValue } from './text.ts';

/**
 * The label text of one series (`a="x",b="y"`, in declared order), after checking the label set
 * is exactly the declared one: a mislabelled observation is a programming error.
 */
export function formatLabels(metric: string, labelNames: readonly string[], labels: Labels | undefined): string {
  let text = '';
  for (const name of labelNames) {
    const value = labels?.[name];
    if (value === undefined) throw fail('internal', `Metric "${metric}" needs label "${name}"`);
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(String(value))}"`;
  }
  if (labels !== undefined) {
    for (const name of Object.keys(labels)) {
      if (!labelNames.includes(name)) throw fail('internal', `Metric "${metric}" has no label "${name}"`);
    }
  }
  return text;
}

interface Level<S> {
  children?: Map<string, Level<S>>;
  series?: S;
}

export interface SeriesRow<S> {
  /** Rendered label text, computed once when the series is first seen. */
  readonly labelText: string;
  readonly series: S;
}

/**
 * A metric's series keyed by label values. One map level per label name: a hit on the hot path
 * allocates nothing (no joined key string) and no two label sets can collide. Rows keep
 * first-seen order for rendering.
 */
export class SeriesTable<S> {
  readonly #metric: string;
  readonly #labelNames: readonly string[];
  readonly #create: () => S;
  readonly #root: Level<S> = {};
  readonly #rows: SeriesRow<S>[] = [];

  constructor(metric: string, labelNames: readonly string[], create: () => S) {
    this.#metric = metric;
    this.#labelNames = labelNames;
    this.#create = create;
    // An unlabelled metric renders 0 from the start, as scrapers expect, instead of appearing late.
    if (labelNames.length === 0) this.get(undefined);
  }

  get(labels: Labels | undefined): S {
    let level = this.#root;
    const names = this.#labelNames;
    for (let i = 0; i < names.length; i++) {
      const raw = labels?.[names[i] as string];
      if (raw === undefined) break; // formatLabels below names the missing label
      const key = typeof raw === 'string' ? raw : String(raw);
      level.children ??= new Map();
      let next = level.children.get(key);
      if (next === undefined) {
        next = {};
        level.children.set(key, next);
      }
      level = next;
    }
    if (level.series !== undefined) return level.series;
    // Only a new series pays for validation; extra labels on a later hit go unnoticed by design.
    const labelText = formatLabels(this.#metric, names, labels);
    const series = this.#create();
    level.series = series;
    this.#rows.push({ labelText, series });
    return series;
  }

  rows(): readonly SeriesRow<S>[] {
    return this.#rows;
  }
}
