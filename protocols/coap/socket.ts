/**
 * The UDP socket both CoAP engines serve on, bound exclusively (unlike node-coap's own listen(),
 * which sets SO_REUSEADDR): a second server on the same port must fail loudly instead of silently
 * sharing its datagrams.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

export async function bindExclusive(host: string, port: number): Promise<Socket> {
  const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => { sock.off('error', reject); resolve(); });
  });
  return sock;
}
