/**
 * deploy/systemd/doppel.service: the structure and hardening the deploy README promises, checked
 * by reading the unit everywhere; and, where systemd-analyze is installed (.ci/run installs it),
 * systemd's own `verify` (unknown keys, bad values, missing executable) and `security` (exposure
 * score) on the unit as shipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUnit, unitValue, unitValues } from './parse.ts';
import { UNIT, effective, packageJson, read, unit, unitEnv } from './recipes.ts';

const HAS_ANALYZE = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_OFFLINE_SECURITY = HAS_ANALYZE && /--offline/.test(spawnSync('systemd-analyze', ['--help'], { encoding: 'utf8' }).stdout);
const service = (key: string) => unitValue(unit(), 'Service', key);

/**
 * Runs systemd-analyze on a copy of `text` named doppel.service. Where Node is not at the unit's
 * /usr/bin/node, the copy points at this machine's node, since verify checks that the program exists.
 */
function analyze(args: string[], text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'doppel-unit-'));
  try {
    const program = unitValue(parseUnit(text), 'Service', 'ExecStart')!.split(/\s+/)[0]!;
    const file = join(dir, 'doppel.service');
    writeFileSync(file, existsSync(program) ? text : text.replaceAll(`${program} `, `${process.execPath} `));
    const res = spawnSync('systemd-analyze', [...args, file], { cwd: dir, encoding: 'utf8' });
    return { status: res.status, output: `${res.stdout}${res.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const VERIFY = ['--recursive-errors=no', '--man=no', '--generators=no', 'verify'];

describe('systemd unit: structure', () => {
  it('has [Unit], [Service] and [Install] and starts after the network', () => {
    expect([...unit().keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(unitValue(unit(), 'Unit', 'After')).toContain('network-online.target');
    expect(unitValue(unit(), 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('is Type=simple (Doppel does not call sd_notify) and runs what `npm start` runs', () => {
    expect(service('Type')).toBe('simple');
    const [program, ...args] = service('ExecStart')!.split(/\s+/);
    expect(program).toMatch(/^\/.*\/node$/);
    const [, script, ...rest] = packageJson.scripts.start!.split(/\s+/);
    expect(args[0]).toBe(join(service('WorkingDirectory')!, script!));
    expect(args.slice(1)).toEqual(rest);
  });

  it('stops with SIGTERM, waits longer than the drain, restarts on failure', () => {
    expect(service('KillSignal')).toBe('SIGTERM');
    expect(Number(service('TimeoutStopSec'))).toBeGreaterThan(Number(effective(unitEnv(), 'DOPPEL_SHUTDOWN_SECONDS')));
    expect(service('Restart')).toBe('on-failure');
  });

  it('keeps DOPPEL_DATA in its StateDirectory, and reads an optional EnvironmentFile', () => {
    expect(service('DynamicUser') === 'yes' || service('User') !== undefined).toBe(true);
    expect(effective(unitEnv(), 'DOPPEL_DATA')).toBe(`/var/lib/${service('StateDirectory')}`);
    expect(service('EnvironmentFile')).toMatch(/^-\//);
  });

  it('is hardened as the deploy README says', () => {
    expect(service('ProtectSystem')).toBe('strict');
    for (const key of ['ProtectHome', 'PrivateTmp', 'NoNewPrivileges', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectControlGroups', 'RestrictSUIDSGID']) {
      expect(service(key), key).toBe('yes');
    }
    expect(service('RestrictAddressFamilies')!.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(unitValues(unit(), 'Service', 'SystemCallFilter')).toContain('@system-service');
  });

  it('has no capability, since the configured ports are unprivileged', () => {
    for (const name of ['DOPPEL_HTTP', 'DOPPEL_COAP']) expect(Number(effective(unitEnv(), name))).toBeGreaterThanOrEqual(1024);
    expect(service('CapabilityBoundingSet')).toBe('');
    expect(service('AmbientCapabilities') ?? '').toBe('');
  });

  it('does not set MemoryDenyWriteExecute (V8 JIT) and says why', () => {
    expect(service('MemoryDenyWriteExecute')).toBeUndefined();
    expect(read(UNIT)).toMatch(/MemoryDenyWriteExecute is deliberately NOT set: V8/);
  });
});

describe('systemd unit: systemd-analyze', () => {
  it.runIf(HAS_ANALYZE)('passes systemd-analyze verify with no complaint (runs only where systemd-analyze is installed)', () => {
    const res = analyze(VERIFY, read(UNIT));
    expect(res.output).toBe('');
    expect(res.status).toBe(0);
  });

  it.runIf(HAS_ANALYZE)('systemd-analyze verify reports an unknown key and a bad value (negative control; needs systemd-analyze)', () => {
    const broken = read(UNIT).replace('ProtectSystem=strict', 'ProtectSystem=stric\nProtectSytem=strict');
    const res = analyze(VERIFY, broken);
    expect(res.output).toMatch(/ProtectSytem/);
    expect(res.output).toMatch(/stric\b/);
  });

  it.runIf(HAS_OFFLINE_SECURITY)('scores at most 2.0 ("OK") in systemd-analyze security (runs only where systemd-analyze has --offline)', () => {
    const res = analyze(['security', '--offline=true', '--threshold=20', '--no-pager'], read(UNIT));
    expect(res.output).toMatch(/Overall exposure level for doppel\.service: [0-2]\.\d OK/);
    expect(res.status).toBe(0);
  });
});
