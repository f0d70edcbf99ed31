/**
 * Human and machine output of the client commands. Machine output (`--json`) is exactly one JSON
 * document on stdout; human output is tables and pretty JSON on stdout, with hints (more pages,
 * "shown once") on stderr so that piping stdout never mixes in prose.
 */
import type { Runtime } from '../runtime/types.ts';

export class Output {
  constructor(private readonly runtime: Runtime, readonly json: boolean) {}

  /** The one JSON document of `--json` mode. */
  document(value: unknown): void {
    this.runtime.writeStdout(JSON.stringify(value));
  }

  /** A line of human output. */
  line(text: string): void {
    this.runtime.writeStdout(text);
  }

  /** A document for humans: indented JSON. */
  pretty(value: unknown): void {
    this.runtime.writeStdout(JSON.stringify(value, null, 2));
  }

  /** A hint for humans, kept off stdout. */
  note(text: string): void {
    this.runtime.writeStderr(text);
  }

  /** Columns padded to their widest cell; the last column is not padded (no trailing blanks). */
  table(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): void {
    if (rows.length === 0) { this.note(empty); return; }
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const format = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    this.runtime.writeStdout([format(headers), ...rows.map(format)].join('\n'));
  }
}

/** A table cell: `-` for nothing, compact JSON for structures. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return oneLine(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return oneLine(typeof value === 'number' ? String(value) : JSON.stringify(value));
}

/** Control characters (a newline in a server's message, an escape sequence) would break the one-line promise or the terminal. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}
