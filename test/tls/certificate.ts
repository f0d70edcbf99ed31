/**
 * Self-signed certificates for the TLS tests, made with the real `openssl` in a temp dir: a P-256
 * key and a one-day certificate for localhost and 127.0.0.1, the way an operator would.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface CertificateFiles {
  /** PEM certificate file (also the CA to trust: it is self-signed). */
  cert: string;
  /** PEM private key file (unencrypted PKCS #8). */
  key: string;
  /** The certificate's PEM text, for clients' `ca` option. */
  pem: string;
}

/** Writes `<name>.crt` and `<name>.key` into `dir`. */
export async function makeCertificate(dir: string, name = 'server'): Promise<CertificateFiles> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { timeout: 30_000 });
  return { cert, key, pem: await readFile(cert, 'utf8') };
}
