/**
 * @module
 * `--tls-cert` / `--tls-key`: reads the two PEM files before anything is opened or bound and
 * refuses the obvious mistakes with one line naming the flag and the file (missing, unreadable,
 * no PEM block of the right kind, an encrypted key). Whether the certificate and key really parse
 * and belong together is the runtime adapter's check, when it builds its TLS context.
 */
import type { Config } from './config.ts';
import { DoppelError } from './errors.ts';
import type { Runtime, TlsMaterial } from './runtime/types.ts';

/** RFC 7468 §2: a PEM block is a BEGIN line, base64 text, and the matching END line. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\s]+?)-----END \1-----/g;
/** RFC 7468 §5 (certificates), §10 (PKCS #8), and the PKCS #1 / SEC 1 labels OpenSSL still writes. */
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

/** The PEM text of both files, or undefined when TLS is off. Throws `invalid_request`. */
export async function loadTls(config: Pick<Config, 'tlsCert' | 'tlsKey'>, runtime: Runtime): Promise<TlsMaterial | undefined> {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const cert = await readPem(runtime, '--tls-cert', config.tlsCert);
  const key = await readPem(runtime, '--tls-key', config.tlsKey);
  const certLabels = labelsOf(cert);
  if (!certLabels.includes('CERTIFICATE')) {
    throw refused('--tls-cert', config.tlsCert, `holds no PEM certificate (-----BEGIN CERTIFICATE-----)${hint(certLabels)}`);
  }
  const keyLabels = labelsOf(key);
  if (keyLabels.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type: 4,ENCRYPTED/.test(key)) {
    throw refused('--tls-key', config.tlsKey, 'is encrypted; give the unencrypted key (openssl pkey -in FILE -out FILE.plain)');
  }
  if (!keyLabels.some((label) => KEY_LABELS.has(label))) {
    throw refused('--tls-key', config.tlsKey, `holds no PEM private key (-----BEGIN PRIVATE KEY-----)${hint(keyLabels)}`);
  }
  return { cert, key };
}

async function readPem(runtime: Runtime, flag: string, path: string): Promise<string> {
  let text: string | undefined;
  try {
    text = await runtime.readTextFile(path);
  } catch (err) {
    throw refused(flag, path, `cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text === undefined) throw refused(flag, path, 'does not exist');
  return text;
}

/** Labels of the well-formed PEM blocks (base64 that decodes to DER, which starts with a SEQUENCE). */
function labelsOf(text: string): string[] {
  const labels: string[] = [];
  for (const [, label, body] of text.matchAll(PEM_BLOCK)) {
    try {
      if (atob(body!.replace(/\s+/g, '')).charCodeAt(0) === 0x30) labels.push(label!);
    } catch { /* not base64: not a block */ }
  }
  return labels;
}

const hint = (labels: string[]) => (labels.length === 0 ? '' : `; found ${labels.map((l) => `"${l}"`).join(', ')}`);

const refused = (flag: string, path: string, problem: string) =>
  new DoppelError('invalid_request', `Invalid configuration: ${flag} ${path} ${problem}`);
