/**
 * The UDP socket both CoAP engines serve on, bound exclusively (unlike node-coap's own listen(),
 * which sets SO_REUSEADDR): a second server on the same port must fail loudly instead of silently
 * sharing its datagrams.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Every reply goes to the address a request came from, an IP literal. An unconnected socket looks
 * up each destination before sending, and the default (`dns.lookup`) answers even a literal on
 * the next tick: one more turn of the tick queue per reply. A literal needs no lookup, so it is
 * answered at once; a name (only ever the bind host) still goes to `dns.lookup`.
 */
function literalLookup(hostname: string, options: LookupOneOptions | number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

export async function bindExclusive(host: string, port: number): Promise<Socket> {
  const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalLookup });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => { sock.off('error', reject); resolve(); });
  });
  return sock;
}
