/**
 * listKeys against a real nats-server: each key once, even when keys are written while the listing
 * runs (the listing is a consumer of last values, which delivers a rewritten key again).
 */
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { natsForFile } from '../../../test/support/nats-file.ts';
import { listKeys } from './kv-keys.ts';

const nats = natsForFile();

describe('listKeys()', () => {
  it('lists every key once while the keys are being rewritten', async () => {
    const nc = await nats.open();
    const kv = await new Kvm(nc).create('list_keys_test');
    const names = Array.from({ length: 300 }, (_, i) => `n.node-${i}`);
    await Promise.all(names.map((k) => kv.put(k, 'x')));
    let writing = true;
    // Heartbeats: a few keys rewritten over and over while listings run.
    const beating = names.slice(0, 10);
    const beats = (async () => { for (let round = 0; writing; round++) await Promise.all(beating.map((k) => kv.put(k, String(round)))); })();
    try {
      for (let i = 0; i < 5; i++) {
        const keys = await listKeys(kv, 'n.>', 10_000);
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys).toEqual(expect.arrayContaining(names.slice(beating.length)));
      }
    } finally {
      writing = false;
      await beats;
    }
  }, 60_000);
});
