/**
 * Preflight before any figure: each echo under test answers a set of requests byte for byte as
 * bench/baseline-echo.ts does (token lengths 0, 4 and 8, a truncated header), and the mmsg echo
 * survives a datagram longer than its slot and answers the next request. A prototype that answered
 * differently would make its CPU figures meaningless.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

const request = (tkl: number, extra: number[] = []) =>
  Buffer.from([0x40 | tkl, 0x03, 0x12, 0x34, ...Array.from({ length: tkl }, (_, k) => 0xa0 + k), ...extra]);

export const PROBES: Buffer[] = [request(0), request(4, [0xb1, 0x74]), request(8, [0xff, 1, 2, 3]), Buffer.from([0x44, 0x03, 0x00, 0x07, 0x01])];

/** The reply of the server on `port` to each probe, one at a time (2 s each, then an error). */
export async function replies(port: number, probes: readonly Buffer[]): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  try {
    const out: Buffer[] = [];
    for (const p of probes) {
      const got = once(sock, 'message', { signal: AbortSignal.timeout(2000) });
      sock.send(p, port, '127.0.0.1');
      out.push((await got)[0] as Buffer);
    }
    return out;
  } finally {
    sock.close();
  }
}

/** Throws unless the server on `port` answers every probe exactly as the baseline on `reference` does. */
export async function sameAsBaseline(name: string, port: number, reference: number): Promise<void> {
  // The truncated-header probe's token bytes are whatever the reply buffer held: compare its head only.
  const [want, got] = [await replies(reference, PROBES), await replies(port, PROBES)];
  want.forEach((w, i) => {
    const g = got[i]!;
    const n = i === PROBES.length - 1 ? 5 : w.length;
    if (g.length !== w.length || !g.subarray(0, n).equals(w.subarray(0, n))) throw new Error(`${name}: reply ${i} is ${g.toString('hex')}, baseline ${w.toString('hex')}`);
  });
}

/** A 2000-byte datagram (longer than a slot) is dropped; the request after it is answered. */
export async function survivesOversized(port: number): Promise<void> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  try {
    sock.send(Buffer.concat([request(4), Buffer.alloc(2000, 0xee)]), port, '127.0.0.1');
    const got = once(sock, 'message', { signal: AbortSignal.timeout(2000) });
    sock.send(request(2), port, '127.0.0.1');
    const [reply] = (await got) as [Buffer];
    if (reply.length !== 6 || reply[1] !== 0x44) throw new Error(`after an oversized datagram: reply ${reply.toString('hex')}`);
  } finally {
    sock.close();
  }
}
