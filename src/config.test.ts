import { describe, expect, it } from 'vitest';
import { configFileArg, ConfigSchema, describeConfig, loadConfig, maskConfig, natsUrls, parseConfigFile } from './config.ts';
import type { DoppelError } from './errors.ts';

function refusal(argv: string[], env: Record<string, string | undefined> = {}): DoppelError {
  try { loadConfig(argv, env); } catch (err) { return err as DoppelError; }
  throw new Error(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be refused`);
}

describe('loadConfig() defaults', () => {
  it('uses the documented defaults with no flags and no environment', () => {
    expect(loadConfig([], {})).toEqual({
      data: './data', host: '127.0.0.1', http: 8080, coap: 5683, sync: true, logLevel: 'info',
      historyRetention: 1000, maxResidentTwins: 100_000, idleSeconds: 300, livenessSeconds: 300, maxPendingPerTwin: 1000,
      desiredBytes: 32 * 1024, reportedBytes: 32 * 1024, tagsBytes: 8 * 1024, maxDepth: 10, maxKeyLength: 128,
      maxBodyBytes: 256 * 1024, deviceRate: 100, deviceBurst: 200, keyRate: 1000, keyBurst: 2000,
      wsPingSeconds: 30, wsMaxBacklogBytes: 8 * 1024 * 1024, wsMaxSubscriptions: 100_000,
      coapEngine: 'lean', coapCacheSize: 8_388_608, coapConfirmEvery: 16, coapConfirmSeconds: 60, coapMaxObservers: 100_000, coapMaxObserversPerTwin: 8, coapAckTimeoutMs: 2000, coapMaxRetransmit: 4,
      metricsAuth: false, shutdownSeconds: 10, maxStreams: 20_000, maxStreamsPerCredential: 1000, clusterReplicas: 1, jobRetentionDays: 7, jobBatchSize: 64, jobPauseMs: 2,
    });
  });

  it('leaves the admin token unset by default', () => {
    expect(loadConfig([], {}).adminToken).toBeUndefined();
  });

  it('ignores unrelated and empty environment variables', () => {
    expect(loadConfig([], { PATH: '/bin', DOPPEL_HTTP: '', HTTP: '1' }).http).toBe(8080);
  });
});

describe('loadConfig() sources', () => {
  it('reads DOPPEL_* environment variables', () => {
    const config = loadConfig([], {
      DOPPEL_HTTP: '9000', DOPPEL_DATA: '/var/lib/doppel', DOPPEL_LOG_LEVEL: 'debug',
      DOPPEL_HISTORY_RETENTION: '50', DOPPEL_ADMIN_TOKEN: 'a-long-enough-admin-token', DOPPEL_SYNC: 'true',
    });
    expect(config).toMatchObject({ http: 9000, data: '/var/lib/doppel', logLevel: 'debug', historyRetention: 50, adminToken: 'a-long-enough-admin-token', sync: true });
  });

  it('lets flags override the environment', () => {
    const env = { DOPPEL_HTTP: '9000', DOPPEL_HOST: '0.0.0.0', DOPPEL_SYNC: 'true' };
    expect(loadConfig(['--http', '8081', '--sync', 'false'], env)).toMatchObject({ http: 8081, host: '0.0.0.0', sync: false });
  });

  it('accepts --flag=value as well as --flag value', () => {
    expect(loadConfig(['--http=8081'], {}).http).toBe(8081);
    expect(loadConfig(['--data=/tmp/a=b'], {}).data).toBe('/tmp/a=b');
    expect(loadConfig(['--max-resident-twins', '10', '--log-level=warn'], {})).toMatchObject({ maxResidentTwins: 10, logLevel: 'warn' });
  });

  it('lets the last of a repeated flag win', () => {
    expect(loadConfig(['--http', '1', '--http=2'], {}).http).toBe(2);
  });

  it('accepts port 0 (pick a free port)', () => {
    expect(loadConfig(['--http', '0', '--coap', '0'], {})).toMatchObject({ http: 0, coap: 0 });
  });
});

describe('loadConfig() boolean flags', () => {
  it('reads a bare --sync as true', () => {
    expect(loadConfig(['--sync'], {}).sync).toBe(true);
    expect(loadConfig(['--metrics-auth'], {}).metricsAuth).toBe(true);
  });

  it('reads a bare --sync followed by another flag as true', () => {
    expect(loadConfig(['--sync', '--http', '1'], {})).toMatchObject({ sync: true, http: 1 });
  });

  it('takes the next word as the value when it is not a flag', () => {
    expect(loadConfig(['--sync', 'false'], {}).sync).toBe(false);
    expect(loadConfig(['--sync', 'true'], {}).sync).toBe(true);
    expect(loadConfig(['--sync', '0'], {}).sync).toBe(false);
    expect(loadConfig(['--sync', 'yes'], {}).sync).toBe(true);
    expect(loadConfig(['--sync', 'no'], {}).sync).toBe(false);
    expect(loadConfig(['--sync=false'], {}).sync).toBe(false);
    expect(loadConfig(['--metrics-auth', '1'], {}).metricsAuth).toBe(true);
  });

  it('reads boolean environment variables', () => {
    expect(loadConfig([], { DOPPEL_SYNC: '1' }).sync).toBe(true);
    expect(loadConfig([], { DOPPEL_METRICS_AUTH: 'no' }).metricsAuth).toBe(false);
  });

  it('refuses a boolean value it does not know, naming the flag', () => {
    const err = refusal(['--sync', 'maybe']);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('--sync');
  });
});

describe('loadConfig() refusals', () => {
  it('refuses an unknown flag with invalid_request naming it', () => {
    const err = refusal(['--bogus', '1']);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('"--bogus"');
    expect(refusal(['--http-port=1']).message).toContain('"--http-port"');
  });

  it('refuses a bare word', () => {
    const err = refusal(['8080']);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('"8080"');
  });

  it('refuses a flag missing its value, naming it', () => {
    const err = refusal(['--http']);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('--http');
  });

  it('refuses bad values with invalid_request naming the flag', () => {
    const cases: Array<[string[], string]> = [
      [['--http', 'abc'], '--http'],
      [['--http', '70000'], '--http'],
      [['--coap', '-1'], '--coap'],
      [['--http', '1.5'], '--http'],
      [['--log-level', 'loud'], '--log-level'],
      [['--admin-token', 'short'], '--admin-token'],
      [['--history-retention', '0'], '--history-retention'],
      [['--max-pending-per-twin', '-5'], '--max-pending-per-twin'],
      [['--device-rate', 'fast'], '--device-rate'],
      [['--data='], '--data'],
    ];
    for (const [argv, flag] of cases) {
      const err = refusal(argv);
      expect({ argv, code: err.code, names: err.message.includes(flag) }).toEqual({ argv, code: 'invalid_request', names: true });
    }
  });

  it('names the variable a bad value came from, and the rule in plain words', () => {
    const err = refusal([], { DOPPEL_HTTP: '99999' });
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('Invalid DOPPEL_HTTP (--http): must be a port number from 0 to 65535, got "99999"');
  });

  it('says what an unknown flag of serve should look up: doppel serve --help', () => {
    expect(refusal(['--htp', '1']).message).toBe('Unknown flag "--htp" (did you mean --http?): see doppel serve --help');
  });

  it('suggests only a flag close to the typo', () => {
    expect(refusal(['--coap-engin', 'lean']).message).toContain('(did you mean --coap-engine?)');
    expect(refusal(['--bogus-thing', '1']).message).toBe('Unknown flag "--bogus-thing": see doppel serve --help');
  });

  it('never echoes a rejected secret', () => {
    const err = refusal(['--admin-token', 'short-secret']);
    expect(err.message).toBe('Invalid --admin-token: must be at least 16 characters');
  });

  it('lists every bad setting at once', () => {
    const err = refusal(['--http', 'x', '--log-level', 'loud']);
    expect(err.message).toContain('--http');
    expect(err.message).toContain('--log-level');
  });

  it('refuses an empty or blank port instead of reading it as port 0', () => {
    for (const argv of [['--http='], ['--http', ''], ['--coap', ' ']]) {
      expect({ argv, code: refusal(argv).code }).toEqual({ argv, code: 'invalid_request' });
    }
  });
});

describe('describeConfig()', () => {
  it('lists every key with its flag, env variable, default and help', () => {
    const described = describeConfig();
    const defaults = loadConfig([], {}) as Record<string, unknown>;
    expect(described.map((d) => d.key)).toEqual(Object.keys(ConfigSchema.shape));
    for (const d of described) {
      const kebab = d.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const snake = d.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
      expect(d.flag).toBe(`--${kebab}`);
      expect(d.env).toBe(`DOPPEL_${snake}`);
      expect(d.default).toEqual(defaults[d.key]);
      expect(d.help.length).toBeGreaterThan(0);
    }
  });

  it('describes flags that loadConfig accepts and env variables it reads', () => {
    for (const d of describeConfig()) {
      if (d.key === 'adminToken' || d.key === 'data' || d.key === 'host' || d.key === 'logLevel') continue;
      if (d.key === 'tlsCert' || d.key === 'tlsKey') continue; // a pair: see 'TLS settings'
      if (d.key === 'cluster' || d.key === 'nodeId' || d.key === 'clusterReplicas') continue; // see 'cluster settings'
      const value = d.key === 'sync' || d.key === 'metricsAuth' ? 'true' : d.key === 'coapEngine' ? 'node-coap' : '7';
      const expected = value === 'true' ? true : value === '7' ? 7 : value;
      expect((loadConfig([d.flag, value], {}) as Record<string, unknown>)[d.key]).toBe(expected);
      expect((loadConfig([], { [d.env]: value }) as Record<string, unknown>)[d.key]).toBe(expected);
    }
  });

  it('has the contract\'s names for the server flags', () => {
    const byKey = new Map(describeConfig().map((d) => [d.key, d]));
    expect(byKey.get('data')).toMatchObject({ flag: '--data', env: 'DOPPEL_DATA', default: './data' });
    expect(byKey.get('http')).toMatchObject({ flag: '--http', env: 'DOPPEL_HTTP', default: 8080 });
    expect(byKey.get('coap')).toMatchObject({ flag: '--coap', env: 'DOPPEL_COAP', default: 5683 });
    expect(byKey.get('host')).toMatchObject({ flag: '--host', env: 'DOPPEL_HOST', default: '127.0.0.1' });
    expect(byKey.get('adminToken')).toMatchObject({ flag: '--admin-token', env: 'DOPPEL_ADMIN_TOKEN', default: undefined });
  });
});

describe('TLS settings', () => {
  it('takes --tls-cert and --tls-key together, from flags, env or a file', () => {
    expect(loadConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {})).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect(loadConfig([], { DOPPEL_TLS_CERT: 'c.pem', DOPPEL_TLS_KEY: 'k.pem' })).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect(loadConfig([], {}, { path: 'f.json', values: { tlsCert: 'c.pem', tlsKey: 'k.pem' } })).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    const plain = loadConfig([], {});
    expect([plain.tlsCert, plain.tlsKey]).toEqual([undefined, undefined]);
  });

  it('refuses one without the other, naming both flags', () => {
    expect(() => loadConfig(['--tls-cert', 'c.pem'], {})).toThrow('--tls-cert needs --tls-key too');
    expect(() => loadConfig([], { DOPPEL_TLS_KEY: 'k.pem' })).toThrow('--tls-key needs --tls-cert too');
  });
});

describe('maskConfig()', () => {
  it('hides the admin token and keeps everything else', () => {
    const config = loadConfig(['--admin-token', 'super-secret-admin-token', '--http', '1'], {});
    const masked = maskConfig(config);
    expect(masked.adminToken).toBe('***');
    expect(JSON.stringify(masked)).not.toContain('super-secret-admin-token');
    expect({ ...masked, adminToken: config.adminToken }).toEqual(config);
    expect(config.adminToken).toBe('super-secret-admin-token'); // the input is not changed
  });

  it('leaves an unset admin token unset', () => {
    expect(maskConfig(loadConfig([], {})).adminToken).toBeUndefined();
  });
});

describe('config file', () => {
  it('splits --config (either spelling) off the flags, else takes DOPPEL_CONFIG', () => {
    expect(configFileArg(['--http', '1', '--config', 'a.json'], {})).toEqual({ path: 'a.json', rest: ['--http', '1'] });
    expect(configFileArg(['--config=b.json'], { DOPPEL_CONFIG: 'env.json' })).toEqual({ path: 'b.json', rest: [] });
    expect(configFileArg([], { DOPPEL_CONFIG: 'env.json' })).toEqual({ path: 'env.json', rest: [] });
    expect(configFileArg([], {})).toEqual({ path: undefined, rest: [] });
    expect(() => configFileArg(['--config'], {})).toThrow(/needs a file path/);
  });

  it('ranks the file below the environment and the flags', () => {
    const file = parseConfigFile('d.json', '{"http": 9000, "coap": 9001, "historyRetention": 5, "sync": true}');
    const config = loadConfig(['--http', '9100'], { DOPPEL_COAP: '9101' }, file);
    expect(config).toMatchObject({ http: 9100, coap: 9101, historyRetention: 5, sync: true });
  });

  it('refuses unknown keys, bad values, and files that are not one JSON object, naming the file', () => {
    expect(() => loadConfig([], {}, parseConfigFile('d.json', '{"historyRetension": 5}'))).toThrow(/Unknown setting "historyRetension" in d.json/);
    expect(() => loadConfig([], {}, parseConfigFile('d.json', '{"http": "eighty"}'))).toThrow('Invalid "http" in d.json: must be a port number from 0 to 65535, got "eighty"');
    expect(() => parseConfigFile('d.json', '{"http": 1,}')).toThrow(/d.json is not valid JSON/);
    expect(() => parseConfigFile('d.json', '[1]')).toThrow(/one JSON object/);
  });

  it('reads back what maskConfig prints (secrets aside): the output is a valid config file', () => {
    const config = loadConfig(['--http', '1234', '--sync'], {});
    const printed = maskConfig(config);
    expect(loadConfig([], {}, { path: 'p.json', values: printed })).toEqual(config);
  });
});

describe('cluster settings', () => {
  const refused = (argv: string[]) => refusal(argv).message;

  it('reads --cluster, --node-id and --cluster-replicas from flags and the environment', () => {
    expect(loadConfig(['--cluster', 'nats://a:4222,nats://b:4222,nats://c:4222', '--node-id', 'n1', '--cluster-replicas', '3'], {}))
      .toMatchObject({ cluster: 'nats://a:4222,nats://b:4222,nats://c:4222', nodeId: 'n1', clusterReplicas: 3 });
    expect(loadConfig([], { DOPPEL_CLUSTER: 'nats://a:4222', DOPPEL_NODE_ID: 'n2', DOPPEL_CLUSTER_REPLICAS: '1' }))
      .toMatchObject({ cluster: 'nats://a:4222', nodeId: 'n2', clusterReplicas: 1 });
    expect(natsUrls('nats://a:4222, nats://b:4222,')).toEqual(['nats://a:4222', 'nats://b:4222']);
  });

  it('refuses an unparsable URL, a lone --cluster or --node-id, a bad replica count, and more replicas than URLs, in one line', () => {
    expect(refused(['--cluster', 'h1:4222', '--node-id', 'n1'])).toMatch(/^Invalid --cluster: must be comma-separated NATS URLs/);
    expect(refused(['--cluster', 'http://h1:4222', '--node-id', 'n1'])).toMatch(/^Invalid --cluster: must be comma-separated NATS URLs/);
    expect(refused(['--cluster', 'nats://h1:4222'])).toBe('Invalid configuration: --cluster needs --node-id too (cluster mode takes both)');
    expect(refused(['--node-id', 'n1'])).toBe('Invalid configuration: --node-id needs --cluster too (cluster mode takes both)');
    expect(refused(['--cluster', 'nats://h1:4222', '--node-id', 'n 1'])).toMatch(/^Invalid --node-id: must be 1-64 of/);
    expect(refused(['--cluster', 'nats://h1:4222', '--node-id', 'n1', '--cluster-replicas', '2'])).toMatch(/^Invalid --cluster-replicas: must be 1, 3 or 5/);
    expect(refused(['--cluster', 'nats://h1:4222', '--node-id', 'n1', '--cluster-replicas', '3'])).toMatch(/--cluster-replicas 3 is more than the 1 NATS server/);
    for (const message of [refused(['--cluster', 'x', '--node-id', 'n1'])]) expect(message).not.toContain('\n');
  });
});
