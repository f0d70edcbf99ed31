/**
 * @module
 * Structured logs: one JSON object per line, quiet by default (startup, warnings, errors).
 * The sink is injected so the core never touches stdout itself.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

/** A logger writing JSON lines through `sink` (e.g. `line => process.stdout.write(line + '\n')`). */
export function createLogger(level: LogLevel, sink: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    const entry: Record<string, unknown> = { time: now().toISOString(), level: lvl, msg };
    // Fields never overwrite time/level/msg, so log lines stay parseable by their shape.
    for (const key in fields) if (!(key in entry)) entry[key] = fields[key];
    const err = fields?.err;
    if (err instanceof Error) entry.err = { message: err.message, code: (err as { code?: unknown }).code, stack: err.stack };
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      // A circular or BigInt field must not turn a log call into a crash.
      line = JSON.stringify({ time: entry.time, level: lvl, msg, unserializableFields: Object.keys(fields ?? {}) });
    }
    sink(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (l) => RANK[l] >= min,
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger('silent', () => {});
