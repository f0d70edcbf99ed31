/**
 * Small readers for the recipe formats that have no parser among the dev dependencies: the
 * Dockerfile (instructions and stages), systemd unit files, .dockerignore matching and Compose
 * variable interpolation. Each covers what deploy/ uses and throws on anything it cannot read, so
 * a recipe written beyond them fails a test instead of being checked wrongly.
 */
import { parseAllDocuments } from 'yaml';

// --- YAML ------------------------------------------------------------------------------------

/**
 * All documents of a YAML stream as plain data, refusing any error or warning (duplicate keys
 * included). Kubernetes reads YAML 1.1 and most other tools 1.2; `version` picks the reading.
 */
export function parseYaml(text: string, version: '1.1' | '1.2' = '1.2'): unknown[] {
  const docs = parseAllDocuments(text, { version, uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));
    return doc.toJS() as unknown;
  });
}

// --- Dockerfile ------------------------------------------------------------------------------

export interface Instruction { keyword: string; args: string; line: number }
export interface Stage { name: string | undefined; base: string; instructions: Instruction[] }

/** Instructions in order; `\` continuations joined, comment lines (also inside them) dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === null && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (pending === null) pending = { parts: [body.trim()], line: i + 1 };
    else pending.parts.push(body.trim());
    if (continued) return;
    const joined = pending.parts.filter((p) => p !== '').join(' ');
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(joined);
    if (!m) throw new Error(`Dockerfile line ${pending.line}: cannot read "${joined}"`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: pending.line });
    pending = null;
  });
  if (pending !== null) throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

/** Build stages, with `${ARG}` in FROM resolved from the global ARG defaults. */
export function dockerStages(instructions: Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = ins.args.split('=', 2);
      if (value !== undefined) globalArgs.set(name!.trim(), value.trim());
    } else if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
        const value = globalArgs.get((a ?? b)!);
        if (value === undefined) throw new Error(`FROM uses ARG ${a ?? b} without a default`);
        return value;
      });
      stages.push({ name: m[2], base, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

/**
 * The JSON array of an exec-form instruction, or null for shell form. Docker silently falls back
 * to shell form on invalid JSON, so callers that require exec form assert non-null.
 */
export function execForm(args: string): string[] | null {
  if (!args.trim().startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed as string[] : null;
  } catch {
    return null;
  }
}

/** `--name=value` options before the rest of an instruction (HEALTHCHECK, COPY). */
export function splitOptions(args: string): { options: Map<string, string>; rest: string } {
  const options = new Map<string, string>();
  let rest = args.trim();
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    options.set(m[1]!, m[2]!);
    rest = rest.slice(m[0].length);
  }
  return { options, rest };
}

/** ENV instructions of a stage as a map (`KEY=value` pairs; quotes are not used in deploy/). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || /["']/.test(pair)) throw new Error(`ENV on line ${ins.line}: write KEY=value pairs without quotes`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** Go-style duration of Docker and Compose (`15s`, `1m30s`) in seconds; throws without units. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: "${text}"`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

// --- .dockerignore ---------------------------------------------------------------------------

/**
 * Whether `.dockerignore` keeps `path` (relative, `/`-separated) out of the build context, as
 * Docker decides: the last pattern matching the path or one of its parents wins; `!` re-includes.
 */
export function dockerIgnored(patterns: string[], path: string): boolean {
  const rules = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#')).map((p) => {
    const negate = p.startsWith('!');
    const glob = (negate ? p.slice(1) : p).replace(/^\/+|\/+$/g, '');
    return { negate, re: globToRegExp(glob) };
  });
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.re.test(c))) ignored = !rule.negate;
  }
  return ignored;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' || c === '\\') throw new Error(`.dockerignore: "${glob}" uses syntax these tests do not read`);
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// --- systemd units ---------------------------------------------------------------------------

export type Unit = Map<string, Array<{ key: string; value: string; line: number }>>;

/** Sections of a unit file, each a list of assignments in order (a key may repeat). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: string | null = null;
  let pending = '';
  text.split('\n').forEach((raw, i) => {
    const line = pending + raw.trim();
    pending = '';
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.endsWith('\\')) { pending = `${line.slice(0, -1)} `; return; }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) { section = header[1]!; unit.set(section, unit.get(section) ?? []); return; }
    const eq = line.indexOf('=');
    if (section === null || eq <= 0) throw new Error(`unit line ${i + 1}: cannot read "${line}"`);
    unit.get(section)!.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: i + 1 });
  });
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function unitValues(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter((e) => e.key === key).map((e) => e.value);
}

/** The effective (last) value of `key`; systemd lets a later assignment override. */
export function unitValue(unit: Unit, section: string, key: string): string | undefined {
  return unitValues(unit, section, key).at(-1);
}

/** Environment= assignments, which may hold several space-separated, optionally quoted pairs. */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of unitValues(unit, 'Service', 'Environment')) {
    for (const m of value.matchAll(/"([^"]*)"|(\S+)/g)) {
      const pair = m[1] ?? m[2]!;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Environment=${value}: "${pair}" is not NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** An EnvironmentFile (`NAME=value` lines, `#` comments) as a map. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`env file line ${i + 1}: cannot read "${line}"`);
    env[m[1]!] = m[2]!;
  });
  return env;
}

// --- Compose interpolation -------------------------------------------------------------------

/**
 * Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
 * `$VAR` and `$$`, as `docker compose` resolves them from the shell environment.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_]\w*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_]\w*)|\$\{[^}]*\}?/g,
    (whole, name: string | undefined, colon: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      if (bare !== undefined) return env[bare] ?? '';
      if (name === undefined) throw new Error(`cannot interpolate "${whole}"`);
      const value = env[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') return missing ? arg! : value!;
      if (op === '?') { if (missing) throw new Error(`${name}: ${arg}`); return value!; }
      return value ?? '';
    });
}
