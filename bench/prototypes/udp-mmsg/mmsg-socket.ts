/**
 * The JS side of the recvmmsg/sendmmsg prototype (udp_mmsg.c): loads the addon from its build
 * directory (built by `build.ts`, never by npm install), owns the four shared areas and exposes
 * them as views. No per-datagram allocation: `onBatch(count)` sees slots 0..count-1 of `recv`, the
 * caller writes replies into `send` slots and passes them to `sendBatch`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from '../../server-command.ts';

export const ADDON_DIR = join(projectRoot, 'bench', 'prototypes', 'udp-mmsg');
export const ADDON_FILE = join(ADDON_DIR, 'build', 'Release', 'udp_mmsg.node');

export interface MmsgStats { recvCalls: number; datagrams: number; sendCalls: number; sent: number; dropped: number; errors: number; truncated: number }

interface Addon {
  open(onBatch: (count: number) => void, slot: number, recvData: Uint8Array, recvMeta: Uint32Array, sendData: Uint8Array, sendMeta: Uint32Array): { handle: object; port: number };
  sendBatch(handle: object, start: number, count: number): number;
  stats(handle: object): MmsgStats;
  close(handle: object): void;
}

/** One area: `batch` slots of `slot` bytes, and [length, IPv4 address (host order), port] per slot. */
export interface Area { data: Uint8Array; meta: Uint32Array }

export interface MmsgSocket {
  port: number;
  batch: number;
  slot: number;
  recv: Area;
  send: Area;
  /** Sends send slots start..start+count-1; returns how many the kernel took (the rest dropped, counted). */
  sendBatch(start: number, count: number): number;
  stats(): MmsgStats;
  close(): void;
}

/** Binds 127.0.0.1:0. `onBatch(count)` is called once per recvmmsg that returned datagrams. */
export function openMmsgSocket(opts: { batch: number; slot: number; onBatch: (count: number) => void }): MmsgSocket {
  const addon = createRequire(import.meta.url)(ADDON_FILE) as Addon;
  const area = (): Area => ({ data: new Uint8Array(opts.batch * opts.slot), meta: new Uint32Array(opts.batch * 3) });
  const recv = area();
  const send = area();
  const { handle, port } = addon.open(opts.onBatch, opts.slot, recv.data, recv.meta, send.data, send.meta);
  return {
    port, batch: opts.batch, slot: opts.slot, recv, send,
    sendBatch: (start, count) => addon.sendBatch(handle, start, count),
    stats: () => addon.stats(handle),
    close: () => addon.close(handle),
  };
}
