/** Label values by label name. Numbers are rendered as their decimal text. */
export type Labels = Readonly<Record<string, string | number>>;

interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`, unique within the registry. */
  readonly name: string;
  readonly help: string;
  /** Every observation must give a value for each of these, and no other label. */
  readonly labelNames?: readonly string[];
}

export interface CounterOptions extends MetricOptions {
  /** A total kept elsewhere (e.g. actors activated), read on every render; unlabelled. */
  readonly collect?: () => number;
}

/** One series a collecting gauge reports. */
export interface GaugeSample {
  readonly labels: Labels;
  readonly value: number;
}

export interface GaugeOptions extends MetricOptions {
  /**
   * Called on every render for a value held elsewhere (e.g. resident actors). When given, its
   * result is what renders; values from `set`/`inc`/`dec` are ignored.
   */
  readonly collect?: () => number | readonly GaugeSample[];
}

export interface HistogramOptions extends MetricOptions {
  /** Finite upper bounds in increasing order; the `+Inf` bucket is added. */
  readonly buckets: readonly number[];
}

/** Only goes up; `inc` refuses a negative amount. */
export interface Counter {
  inc(labels?: Labels, value?: number): void;
  inc(value: number): void;
}

export interface Gauge {
  set(labels: Labels | undefined, value: number): void;
  set(value: number): void;
  inc(labels?: Labels, value?: number): void;
  inc(value: number): void;
  dec(labels?: Labels, value?: number): void;
  dec(value: number): void;
}

export interface Histogram {
  observe(labels: Labels | undefined, value: number): void;
  observe(value: number): void;
}

export interface MetricsRegistry {
  counter(options: CounterOptions): Counter;
  gauge(options: GaugeOptions): Gauge;
  histogram(options: HistogramOptions): Histogram;
  /** Every metric in Prometheus text exposition format 0.0.4, in registration order. */
  render(): string;
}

/** What the registry holds per metric: it only needs the name and a way to print it. */
export interface MetricFamily {
  readonly name: string;
  /** Appends the metric's lines, `# HELP` and `# TYPE` first. */
  render(out: string[]): void;
}
