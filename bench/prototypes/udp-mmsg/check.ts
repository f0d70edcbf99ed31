/**
 * Preflight before any figure: each echo under test answers a set of requests byte for byte as
 * bench/baseline-echo.ts does (token lengths 0, 4 and 8, a truncated header), and the mmsg echo
 * survives a datagram longer than its slot and answers the next request; sendBatch skips a datagram
 * that fails alone. A prototype that answered differently would make its CPU figures meaningless.
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

/**
 * In-process: one sendBatch of three replies whose middle one has port 0 (EINVAL for that datagram
 * alone) sends the other two, returns 2 and counts one error.
 */
export async function skipsAFailedDatagram(): Promise<void> {
  const { openMmsgSocket } = await import('./mmsg-socket.ts');
  const sink = createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
  const mmsg = openMmsgSocket({ batch: 4, slot: 64, onBatch: () => undefined });
  try {
    const got: Buffer[] = [];
    const both = new Promise<void>((resolve) => sink.on('message', (m) => { if (got.push(m) === 2) resolve(); }));
    for (const [i, port] of [sink.address().port, 0, sink.address().port].entries()) {
      mmsg.send.data.set([i, i, i], i * 64);
      mmsg.send.meta.set([3, 0x7f000001, port], 3 * i);
    }
    const sent = mmsg.sendBatch(0, 3);
    await Promise.race([both, new Promise((_, reject) => setTimeout(() => reject(new Error('replies 0 and 2 not received')), 2000))]);
    const errors = mmsg.stats().errors;
    if (sent !== 2 || errors !== 1 || got.map((m) => m[0]).sort().join() !== '0,2') throw new Error(`sendBatch: sent ${sent}, errors ${errors}, received ${got.map((m) => m.toString('hex'))}`);
  } finally {
    mmsg.close();
    sink.close();
  }
}
