/**
 * @module
 * The failures a first start most often meets, said in one line that names the port or directory
 * and what to do, instead of a stack trace or LevelDB's `IO error: lock …`. Each becomes a
 * DoppelError (`unavailable`): the CLI prints its message and exits 1.
 */
import { DoppelError } from './errors.ts';

/** The codes an error or any error in its `cause` chain carries (Node's `code`, Deno's `name`). */
function codesOf(err: unknown): Set<string> {
  const codes = new Set<string>();
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string') codes.add(code);
    if (typeof name === 'string') codes.add(name);
  }
  return codes;
}

export interface Listener {
  /** 'HTTP' (TCP, also WebSockets) or 'CoAP' (UDP). */
  protocol: 'HTTP' | 'CoAP';
  host: string;
  port: number;
}

/** A clear error for a failed bind, or the original error when it is none of the known causes. */
export function bindFailure(err: unknown, { protocol, host, port }: Listener): unknown {
  const codes = codesOf(err);
  const transport = protocol === 'HTTP' ? 'TCP' : 'UDP';
  const flag = protocol === 'HTTP' ? '--http' : '--coap';
  if (codes.has('EADDRINUSE') || codes.has('AddrInUse')) {
    return new DoppelError('unavailable', `${protocol} port ${port} (${transport}) is already in use on ${host}: stop the other process or pass ${flag} <port>`, { cause: err });
  }
  if (codes.has('EACCES') || codes.has('PermissionDenied')) {
    return new DoppelError('unavailable', `${protocol} port ${port} (${transport}) on ${host} needs privileges this user lacks (ports below 1024 usually do): pass ${flag} <port> of 1024 or more`, { cause: err });
  }
  if (codes.has('EADDRNOTAVAIL') || codes.has('AddrNotAvailable')) {
    return new DoppelError('unavailable', `Cannot listen on ${host}: no network interface of this machine has that address; pass --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (all)`, { cause: err });
  }
  return err;
}

/** A clear error when another process holds the data directory's LevelDB lock; `advice` says what to do. */
export function storeOpenFailure(err: unknown, dataDir: string, advice = 'stop that server or pass --data <dir>'): unknown {
  if (!codesOf(err).has('LEVEL_LOCKED')) return err;
  return new DoppelError('unavailable', `Data directory ${dataDir} is in use by another Doppel server (its LevelDB lock is held): ${advice}`, { cause: err });
}
