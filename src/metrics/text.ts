/** The media type of the text exposition format this module writes. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * A sample value as Prometheus parses it. JS prints integers below 1e21 without an exponent and
 * larger or tiny numbers as `1e+21` / `1e-7`, both of which Go's ParseFloat accepts.
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Exposition format 0.0.4: label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Exposition format 0.0.4: HELP text escapes only backslash and line feed. */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** `name{labels} value`, or `name value` when there are no labels. */
export function sampleLine(name: string, labelText: string, value: number): string {
  return labelText === '' ? `${name} ${formatValue(value)}` : `${name}{${labelText}} ${formatValue(value)}`;
}

export function headerLines(out: string[], name: string, help: string, type: 'counter' | 'gauge' | 'histogram'): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
}
