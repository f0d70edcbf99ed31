/**
 * loadTls: which files it takes (the PEM forms OpenSSL writes, CRLF line ends, a chain) and which
 * it refuses before the runtime sees them, with keys and certificates made by the real openssl.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRuntime } from './runtime/node.ts';
import { loadTls } from './tls.ts';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { timeout: 30_000 });
let dir: string;
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doppel-tls-unit-'));
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', at('ec.key'), '-out', at('ec.crt'));
  await openssl('genrsa', '-traditional', '-out', at('rsa1.key'), '2048'); // "BEGIN RSA PRIVATE KEY" (PKCS #1)
  await openssl('rsa', '-in', at('rsa1.key'), '-traditional', '-aes128', '-passout', 'pass:x', '-out', at('rsa1-encrypted.key'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const load = (cert: string, key: string) => loadTls({ tlsCert: at(cert), tlsKey: at(key) }, nodeRuntime);

describe('loadTls', () => {
  it('is off unless both files are set', async () => {
    expect(await loadTls({ tlsCert: undefined, tlsKey: undefined }, nodeRuntime)).toBeUndefined();
  });

  it('returns the PEM text of both files', async () => {
    const material = await load('ec.crt', 'ec.key');
    expect(material).toEqual({ cert: await readFile(at('ec.crt'), 'utf8'), key: await readFile(at('ec.key'), 'utf8') });
  });

  it('takes a chain, CRLF line ends and a PKCS #1 RSA key', async () => {
    const cert = await readFile(at('ec.crt'), 'utf8');
    await writeFile(at('chain.crt'), `${cert}${cert}`.replace(/\n/g, '\r\n'));
    await expect(load('chain.crt', 'rsa1.key')).resolves.toBeDefined();
  });

  it('refuses a legacy encrypted key (Proc-Type header) and an empty file', async () => {
    await expect(load('ec.crt', 'rsa1-encrypted.key')).rejects.toThrow(`--tls-key ${at('rsa1-encrypted.key')} is encrypted`);
    await writeFile(at('empty.crt'), '');
    await expect(load('empty.crt', 'ec.key')).rejects.toThrow(`--tls-cert ${at('empty.crt')} holds no PEM certificate`);
  });

  it('refuses a block whose body is not base64 DER', async () => {
    await writeFile(at('text.crt'), '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n');
    await expect(load('text.crt', 'ec.key')).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining('holds no PEM certificate') });
  });
});
