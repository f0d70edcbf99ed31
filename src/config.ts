/**
 * @module
 * One zod schema for all configuration. Every setting has a default, a `--kebab-case` flag and a
 * `DOPPEL_UPPER_SNAKE` environment variable; flags win over the environment, which wins over
 * defaults. `describeConfig()` feeds the README table and `--help`.
 */
import { z } from 'zod';
import { DoppelError } from './errors.ts';

// Every rule says in plain words what a setting takes: errors read "Invalid DOPPEL_HTTP: must be
// a port number from 0 to 65535, got "99999"", not zod's "Too big: expected number to be <=65535".
const rule = (text: string) => ({ error: text });
/** A whole number in [min, max], every violation worded as `text`. */
const wholeNumber = (min: number, max: number, text: string) => z.coerce.number(rule(text)).int(rule(text)).min(min, rule(text)).max(max, rule(text));
const port = wholeNumber(0, 65535, 'must be a port number from 0 to 65535');
const positiveInt = wholeNumber(1, Number.MAX_SAFE_INTEGER, 'must be a whole number of 1 or more');
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', ''])], rule('must be true or false (or 1/0, yes/no)'))
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === '');
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, rule(`must be one of ${values.join(', ')}`));

export const ConfigSchema = z.object({
  data: z.string(rule('must be a path')).min(1, 'must not be empty').default('./data').describe('Data directory (LevelDB and the generated admin token)'),
  host: z.string(rule('must be an address')).min(1, 'must not be empty').default('127.0.0.1').describe('Address to bind HTTP and CoAP to (0.0.0.0 for all interfaces)'),
  http: port.default(8080).describe('HTTP and WebSocket port (0 picks a free one)'),
  coap: port.default(5683).describe('CoAP UDP port (0 picks a free one)'),
  adminToken: z.string(rule('must be a string')).min(16, 'must be at least 16 characters')
    .refine((t) => !/^dp[kd]_/.test(t), 'must not start with dpk_ or dpd_ (those prefixes mark API keys and device tokens)').optional().describe('Admin token; generated into <data>/admin-token when unset'),
  sync: flag.default(true).describe('fsync every write batch before acknowledging it (power-loss safe); false is only process-crash safe'),
  logLevel: oneOf(['debug', 'info', 'warn', 'error', 'silent']).default('info').describe('Log level: debug (every request), info, warn, error or silent'),
  historyRetention: positiveInt.default(1000).describe('Change events kept per twin'),
  maxResidentTwins: positiveInt.default(100_000).describe('Twin actors kept in memory at most (least recently used are passivated)'),
  idleSeconds: positiveInt.default(300).describe('Passivate a twin actor after this long without messages'),
  livenessSeconds: positiveInt.default(300).describe('A device counts as online this long after its last contact'),
  maxPendingPerTwin: positiveInt.default(1000).describe('Requests queued for one twin before new ones are refused (unavailable)'),
  desiredBytes: positiveInt.default(32 * 1024).describe('Limit of desired as JSON, in bytes'),
  reportedBytes: positiveInt.default(32 * 1024).describe('Limit of reported as JSON, in bytes'),
  tagsBytes: positiveInt.default(8 * 1024).describe('Limit of tags as JSON, in bytes'),
  maxDepth: positiveInt.default(10).describe('Nesting depth limit of a document'),
  maxKeyLength: positiveInt.default(128).describe('Key length limit'),
  maxBodyBytes: positiveInt.default(256 * 1024).describe('Largest HTTP request body accepted'),
  deviceRate: positiveInt.default(100).describe('Requests/s per device token'),
  deviceBurst: positiveInt.default(200).describe('Burst per device token'),
  keyRate: positiveInt.default(1000).describe('Requests/s per API key'),
  keyBurst: positiveInt.default(2000).describe('Burst per API key'),
  wsPingSeconds: positiveInt.default(30).describe('WebSocket ping interval; a peer silent for two intervals is dropped'),
  wsMaxBacklogBytes: positiveInt.default(8 * 1024 * 1024).describe('Unsent bytes queued for one WebSocket before it is closed with 4008 slow_consumer'),
  wsMaxSubscriptions: positiveInt.default(100_000).describe('Subscriptions (twin ids and prefixes) one WebSocket connection may hold'),
  maxStreams: positiveInt.default(20_000).describe('Long-lived streams (WebSocket connections + event streams) open at most; beyond: 503 with Retry-After'),
  maxStreamsPerCredential: positiveInt.default(1000).describe('Long-lived streams one API key or device token may hold open; beyond: 429 with Retry-After'),
  metricsAuth: flag.default(false).describe('Require a credential for /metrics'),
  coapEngine: oneOf(['lean', 'node-coap']).default('lean').describe('CoAP engine: lean (Doppel\'s own message layer on node:dgram) or node-coap (the previous engine, kept as a fallback)'),
  coapCacheSize: positiveInt.default(8 * 1024 * 1024).describe('Bytes of CoAP replies kept to answer duplicate requests for EXCHANGE_LIFETIME (247 s); the node-coap engine uses at most 65536 of it'),
  coapConfirmEvery: positiveInt.default(16).describe('CoAP Observe: at least every Nth notification is confirmable'),
  coapConfirmSeconds: positiveInt.default(60).describe('CoAP Observe: at least one confirmable notification this often'),
  coapMaxObservers: positiveInt.default(100_000).describe('CoAP Observe relations held at most (beyond: plain replies)'),
  coapMaxObserversPerTwin: positiveInt.default(8).describe('CoAP Observe relations on one twin at most (beyond: plain replies)'),
  coapAckTimeoutMs: positiveInt.default(2000).describe('CoAP ACK_TIMEOUT for confirmable notifications (RFC 7252 §4.8)'),
  coapMaxRetransmit: wholeNumber(0, 10, 'must be a whole number from 0 to 10').default(4).describe('CoAP MAX_RETRANSMIT: an observer that acknowledges none of these retransmissions is removed'),
  jobRetentionDays: positiveInt.default(7).describe('Ended fleet jobs are deleted this many days after they ended'),
  jobBatchSize: positiveInt.default(64).describe('Fleet jobs: twins per batch, the job\'s progress stored after each'),
  jobPauseMs: wholeNumber(0, 600_000, 'must be a whole number from 0 to 600000').default(2).describe('Fleet jobs: pause between batches in ms, 16× while mailboxes are busy'),
  shutdownSeconds: positiveInt.default(10).describe('Longest SIGTERM drain before closing anyway'),
  cluster: z.string(rule('must be NATS URLs')).min(1, 'must not be empty').refine(isNatsUrlList, 'must be comma-separated NATS URLs like nats://h1:4222,nats://h2:4222').optional()
    .describe('Cluster mode: NATS servers (nats://h1:4222,nats://h2:4222) whose JetStream holds the state instead of LevelDB; needs --node-id'),
  nodeId: z.string(rule('must be a node id')).regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -').optional().describe('This node\'s name in the cluster, unique among live nodes (cluster mode)'),
  clusterReplicas: z.coerce.number(rule('must be 1, 3 or 5')).refine((n) => n === 1 || n === 3 || n === 5, 'must be 1, 3 or 5').default(1)
    .describe('Copies JetStream keeps of every record in cluster mode (3 in production; at most the number of NATS servers)'),
  tlsCert: z.string().min(1).optional().describe('PEM certificate chain file: serve HTTP and WebSocket over TLS (HTTPS/WSS) on --http; needs --tls-key'),
  tlsKey: z.string().min(1).optional().describe('PEM private key file of --tls-cert; needs --tls-cert'),
}).strict();

export type Config = z.output<typeof ConfigSchema>;
type ConfigKey = keyof Config;

const KEYS = Object.keys(ConfigSchema.shape) as ConfigKey[];
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (k: string) => `DOPPEL_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Settings whose values are never printed. */
export const SECRET_KEYS: ReadonlySet<ConfigKey> = new Set(['adminToken']);

/**
 * Builds the effective configuration from flags (`--http 8081`, `--http=8081`, `--sync`) and the
 * environment. Throws `invalid_request` listing every bad setting.
 *
 * @example
 * loadConfig(['--http', '0', '--data', '/tmp/d'], {}) // { http: 0, data: '/tmp/d', ... }
 */
export function loadConfig(argv: readonly string[], env: Record<string, string | undefined>, file?: ConfigFile): Config {
  const raw: Record<string, unknown> = {};
  /** Where each value came from, as the user wrote it: `--http`, `DOPPEL_HTTP`, `"http" in <file>`. */
  const origin: Record<string, string> = {};
  if (file !== undefined) {
    for (const [key, value] of Object.entries(file.values)) {
      if (!(KEYS as string[]).includes(key)) throw new DoppelError('invalid_request', `Unknown setting "${key}" in ${file.path}: see doppel serve --help (file keys are camelCase, e.g. "historyRetention")`);
      raw[key] = value;
      origin[key] = `"${key}" in ${file.path}`;
    }
  }
  for (const key of KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') { raw[key] = v; origin[key] = `${envName(key)} (--${kebab(key)})`; }
  }
  const byFlag = new Map(KEYS.map((k) => [kebab(k), k]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new DoppelError('invalid_request', `Unexpected argument "${arg}": flags look like --http 8080`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const key = byFlag.get(name);
    if (key === undefined) {
      const near = nearestName(name, [...byFlag.keys()]);
      throw new DoppelError('invalid_request', `Unknown flag "--${name}"${near === undefined ? '' : ` (did you mean --${near}?)`}: see doppel serve --help`);
    }
    origin[key] = `--${name}`;
    const isBool = key === 'sync' || key === 'metricsAuth';
    if (eq >= 0) raw[key] = arg.slice(eq + 1);
    else if (isBool && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) raw[key] = true;
    else if (argv[i + 1] === undefined) throw new DoppelError('invalid_request', `Flag "--${name}" needs a value`);
    else raw[key] = argv[++i];
  }
  for (const [key, value] of Object.entries(raw)) {
    // zod would coerce '' to 0, silently turning `--http=` into "any free port".
    if (typeof value === 'string' && value.trim() === '' && key !== 'sync' && key !== 'metricsAuth') {
      throw new DoppelError('invalid_request', `Invalid ${origin[key]}: must not be empty`);
    }
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const got = SECRET_KEYS.has(key as ConfigKey) ? '' : `, got ${JSON.stringify(raw[key])}`; // a secret is never echoed
      return `Invalid ${origin[key] ?? `--${kebab(key)}`}: ${i.message}${got}`;
    });
    throw new DoppelError('invalid_request', problems.join('; '));
  }
  // A certificate without its key (or the reverse) is a mistake, never a request for plain HTTP.
  if ((parsed.data.tlsCert === undefined) !== (parsed.data.tlsKey === undefined)) {
    const [given, missing] = parsed.data.tlsCert === undefined ? ['--tls-key', '--tls-cert'] : ['--tls-cert', '--tls-key'];
    throw new DoppelError('invalid_request', `Invalid configuration: ${given} needs ${missing} too (TLS takes both, or neither for plain HTTP)`);
  }
  // Cluster settings go together: a node id alone would silently mean "single node".
  if ((parsed.data.cluster === undefined) !== (parsed.data.nodeId === undefined)) {
    const [given, missing] = parsed.data.cluster === undefined ? ['--node-id', '--cluster'] : ['--cluster', '--node-id'];
    throw new DoppelError('invalid_request', `Invalid configuration: ${given} needs ${missing} too (cluster mode takes both)`);
  }
  if (parsed.data.cluster !== undefined && parsed.data.clusterReplicas > natsUrls(parsed.data.cluster).length) {
    // Only what the URLs show; servers found through discovery are checked once connected.
    throw new DoppelError('invalid_request', `Invalid configuration: --cluster-replicas ${parsed.data.clusterReplicas} is more than the ${natsUrls(parsed.data.cluster).length} NATS server(s) in --cluster`);
  }
  return parsed.data;
}

/** The URLs of a `--cluster` value. */
export function natsUrls(list: string): string[] {
  return list.split(',').map((u) => u.trim()).filter((u) => u !== '');
}

function isNatsUrlList(list: string): boolean {
  const urls = natsUrls(list);
  return urls.length > 0 && urls.every((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '';
    } catch {
      return false;
    }
  });
}

/** The flag (or command) within two edits (Levenshtein) of a mistyped one, if exactly one is nearest. */
export function nearestName(typed: string, flags: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  const scored = flags.map((f) => ({ f, d: distance(typed, f) })).filter((x) => x.d <= 2).sort((x, y) => x.d - y.d);
  return scored.length > 0 && scored[0]!.d !== scored[1]?.d ? scored[0]!.f : undefined;
}

/** Settings read from a JSON config file (`--config`): the lowest precedence after defaults. */
export interface ConfigFile { path: string; values: Record<string, unknown> }

/**
 * Splits `--config <path>` / `--config=<path>` (else `DOPPEL_CONFIG`) off the arguments, so the
 * caller can read that file and pass it to `loadConfig` with the rest.
 */
export function configFileArg(argv: readonly string[], env: Record<string, string | undefined>): { path: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let path = env.DOPPEL_CONFIG === '' ? undefined : env.DOPPEL_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new DoppelError('invalid_request', 'Flag "--config" needs a file path');
      path = next;
      i++;
    } else if (arg.startsWith('--config=')) {
      path = arg.slice('--config='.length);
    } else {
      rest.push(arg);
    }
  }
  return { path, rest };
}

/** Parses a config file's text: one JSON object of settings (keys as in `doppel config print`). */
export function parseConfigFile(path: string, text: string): ConfigFile {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new DoppelError('invalid_request', `Config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw new DoppelError('invalid_request', `Config file ${path} must hold one JSON object of settings`);
  }
  return { path, values: values as Record<string, unknown> };
}

/** The word after a flag in --help: what to type, in plain words (`--http <port>`, not `<http>`). */
const PLACEHOLDERS: Partial<Record<ConfigKey, string>> = {
  data: 'dir', host: 'address', http: 'port', coap: 'port', adminToken: 'token', sync: 'true|false',
  metricsAuth: 'true|false', logLevel: 'level', coapEngine: 'lean|node-coap', coapCacheSize: 'bytes',
  tlsCert: 'file', tlsKey: 'file', cluster: 'urls', nodeId: 'id', clusterReplicas: '1|3|5',
};
const placeholderOf = (key: ConfigKey): string => PLACEHOLDERS[key]
  ?? (key.endsWith('Seconds') ? 'seconds' : key.endsWith('Bytes') ? 'bytes' : key.endsWith('Ms') ? 'ms' : 'n');

/** Flag, placeholder, env var, default and help of every setting (for --help and the README). */
export function describeConfig(): Array<{ key: string; flag: string; placeholder: string; env: string; default: unknown; help: string }> {
  return KEYS.map((key) => {
    const schema = ConfigSchema.shape[key];
    const dflt = (schema.safeParse(undefined) as { data?: unknown }).data;
    return { key, flag: `--${kebab(key)}`, placeholder: placeholderOf(key), env: envName(key), default: dflt, help: schema.description ?? '' };
  });
}

/** The configuration with secrets masked, for logs and `config print`. */
export function maskConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const k of SECRET_KEYS) if (out[k] !== undefined) out[k] = '***';
  return out;
}
