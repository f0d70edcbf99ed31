/**
 * @module
 * TLS material on Node: proves the certificate and key parse and belong together before the
 * server is created, so a mistake is refused with one line naming the flag at fault rather than
 * an OpenSSL stack trace at the first handshake.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { DoppelError } from '../errors.ts';
import type { TlsMaterial } from './types.ts';

/** `https.createServer` options for `tls`; throws `invalid_request` naming `--tls-cert` or `--tls-key`. */
export function httpsOptions(tls: TlsMaterial): ServerOptions {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(tls.cert); // the first certificate of the chain: the server's own
  } catch (err) {
    throw invalid(`--tls-cert does not hold a valid certificate (${(err as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(tls.key);
  } catch (err) {
    throw invalid(`--tls-key does not hold a valid private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw invalid('--tls-key is not the private key of the certificate in --tls-cert');
  return { cert: tls.cert, key: tls.key };
}

const invalid = (problem: string) => new DoppelError('invalid_request', `Invalid configuration: ${problem}`);
