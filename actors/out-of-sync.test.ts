import { describe, expect, it } from 'vitest';
import { OutOfSyncCount } from './out-of-sync.ts';

describe('OutOfSyncCount', () => {
  it('is unknown until counted, then adds the changes committed while the count ran', async () => {
    const count = new OutOfSyncCount();
    expect(count.value).toBeNull();
    let release!: (n: number) => void;
    const counting = count.count({ countPending: () => new Promise<number>((r) => { release = r; }) });
    count.add(1);
    count.add(1);
    count.add(-1);
    release(10);
    expect(await counting).toBe(11);
    count.add(-3);
    expect(count.value).toBe(8);
  });

  it('recounts from the index without adding earlier changes twice', async () => {
    const count = new OutOfSyncCount();
    count.add(2);
    await count.count({ countPending: async () => 5 });
    expect(count.value).toBe(7);
    await count.count({ countPending: async () => 4 });
    expect(count.value).toBe(4);
  });
});
