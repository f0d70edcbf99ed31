/**
 * The NATS servers of `--cluster` that the runtime may not connect to (Deno without an
 * `--allow-net` grant for their host) refuse the start in one line naming the flag: the grant
 * cannot change while the process runs, so retrying as for an unreachable server would only
 * repeat a bare `getaddrinfo EPERM` (a host name) or wait forever.
 */
import { DoppelError } from '../errors.ts';
import type { Runtime } from '../runtime/index.ts';

/** NATS's default client port (a URL without a port means it). */
const NATS_PORT = '4222';

export function assertNatsAccess(urls: readonly string[], runtime: Pick<Runtime, 'deniedNetAccess'>): void {
  for (const url of urls) {
    const { hostname, port } = new URL(url);
    const denied = runtime.deniedNetAccess?.(`${hostname}:${port === '' ? NATS_PORT : port}`);
    if (denied !== undefined) throw new DoppelError('invalid_request', `Invalid configuration: --cluster names ${url}, but ${denied}`);
  }
}
