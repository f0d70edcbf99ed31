/**
 * TLS configuration as an operator meets it, with the real `doppel serve` process: the settings
 * arrive by environment too, and every mistake (one flag without the other, a missing file, a
 * file that holds no PEM of the right kind, a key that is not the certificate's) stops the server
 * with one line naming the flag and exit code 2, no stack trace.
 */
import { execFile } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, doppelCli, startChildServer, tempDir } from '../support/server.ts';
import { makeCertificate } from './certificate.ts';
import type { CertificateFiles } from './certificate.ts';

const execFileAsync = promisify(execFile);

interface Run { code: number; stdout: string; stderr: string }

const serve = (flags: string[], data: string): Promise<Run> => {
  const { file, args } = doppelCli();
  return new Promise((resolve) => {
    execFile(file, [...args, 'serve', '--http', '0', '--coap', '0', '--data', data, ...flags], {
      env: { ...process.env, DOPPEL_ADMIN_TOKEN: ADMIN, NO_COLOR: '1' }, timeout: 30_000,
    }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code), stdout, stderr }));
  });
};

/** The refusal: exit code 2, stderr one line containing `message`, nothing listening. */
function expectRefused(run: Run, message: string): void {
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toContain(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).not.toContain('"listening"');
}

const exists = (path: string) => access(path).then(() => true, () => false);

let dir: Awaited<ReturnType<typeof tempDir>>;
let good: CertificateFiles;
let other: CertificateFiles;
let garbage: string;

beforeAll(async () => {
  dir = await tempDir('doppel-tls-config-');
  [good, other] = await Promise.all([makeCertificate(dir.path, 'server'), makeCertificate(dir.path, 'other')]);
  garbage = join(dir.path, 'garbage.pem');
  await writeFile(garbage, 'this is not PEM\n');
});
afterAll(async () => { await dir?.remove(); });

describe('TLS settings from the environment', () => {
  it('serves HTTPS with DOPPEL_TLS_CERT and DOPPEL_TLS_KEY and says so in the listening line', async () => {
    const data = await tempDir('doppel-tls-env-');
    const server = await startChildServer(data.path, [], { DOPPEL_TLS_CERT: good.cert, DOPPEL_TLS_KEY: good.key });
    try {
      // startChildServer takes the scheme from the listening line's `tls`.
      expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
      const health = await new Promise<string>((resolve, reject) => {
        execFile('curl', ['-sS', '--max-time', '20', '--cacert', good.cert, `${server.url}/healthz`], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
      expect(health.length).toBeGreaterThan(0);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
      await data.remove();
    }
  });
});

describe('bad TLS configuration stops serve with one line and exit code 2', () => {
  it('refuses one flag without the other', async () => {
    const data = join(dir.path, 'data-one-flag');
    expectRefused(await serve(['--tls-cert', good.cert], data), '--tls-cert needs --tls-key too');
    expectRefused(await serve(['--tls-key', good.key], data), '--tls-key needs --tls-cert too');
    expect(await exists(data)).toBe(false);
  });

  it('names a file that does not exist', async () => {
    const data = join(dir.path, 'data-missing');
    const missing = join(dir.path, 'nope.crt');
    expectRefused(await serve(['--tls-cert', missing, '--tls-key', good.key], data), `--tls-cert ${missing} does not exist`);
    expect(await exists(data)).toBe(false);
  });

  it('names a file that holds no PEM of the right kind', async () => {
    const data = join(dir.path, 'data-garbage');
    expectRefused(await serve(['--tls-cert', garbage, '--tls-key', good.key], data), `--tls-cert ${garbage} holds no PEM certificate`);
    expectRefused(await serve(['--tls-cert', good.cert, '--tls-key', garbage], data), `--tls-key ${garbage} holds no PEM private key`);
    // Swapped files: the key file holds a certificate, not a key.
    expectRefused(await serve(['--tls-cert', good.key, '--tls-key', good.cert], data), `--tls-cert ${good.key} holds no PEM certificate (-----BEGIN CERTIFICATE-----); found "PRIVATE KEY"`);
    expect(await exists(data)).toBe(false);
  });

  it('names a file it cannot read, and refuses an encrypted key', async () => {
    const data = join(dir.path, 'data-unreadable');
    expectRefused(await serve(['--tls-cert', dir.path, '--tls-key', good.key], data), `--tls-cert ${dir.path} cannot be read`);
    const encrypted = join(dir.path, 'encrypted.key');
    await execFileAsync('openssl', ['pkey', '-in', good.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted], { timeout: 30_000 });
    expectRefused(await serve(['--tls-cert', good.cert, '--tls-key', encrypted], data), `--tls-key ${encrypted} is encrypted`);
    expect(await exists(data)).toBe(false);
  });

  it('refuses a PEM block that does not parse as a certificate', async () => {
    const broken = join(dir.path, 'broken.crt');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAA\n-----END CERTIFICATE-----\n');
    expectRefused(await serve(['--tls-cert', broken, '--tls-key', good.key], join(dir.path, 'data-broken')), '--tls-cert does not hold a valid certificate');
  });

  it('refuses a key that is not the certificate\'s', async () => {
    const data = join(dir.path, 'data-mismatch');
    expectRefused(await serve(['--tls-cert', good.cert, '--tls-key', other.key], data), '--tls-key is not the private key of the certificate in --tls-cert');
  });
});
