import { describe, expect, it, vi } from 'vitest';
import type { TwinNotice } from './change-feed.ts';
import { LiveBuffer } from './live-buffer.ts';

const deleted = (twin: string): TwinNotice => ({ type: 'deleted', twin });

describe('LiveBuffer', () => {
  it('holds notices until flush, then delivers them in arrival order and later ones at once', () => {
    const seen: string[] = [];
    const buffer = new LiveBuffer((n) => { seen.push(n.type === 'deleted' ? n.twin : n.event.twin); }, 10);
    buffer.listener(deleted('a'));
    buffer.listener(deleted('b'));
    expect(seen).toEqual([]);
    buffer.flush();
    expect(seen).toEqual(['a', 'b']);
    buffer.listener(deleted('c'));
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('calls onOverflow once past its bound, drops the excess, and keeps what it held', () => {
    const seen: TwinNotice[] = [];
    const onOverflow = vi.fn();
    const buffer = new LiveBuffer((n) => { seen.push(n); }, 2, onOverflow);
    for (const twin of ['a', 'b', 'c', 'd']) buffer.listener(deleted(twin));
    expect(onOverflow).toHaveBeenCalledTimes(1);
    buffer.flush();
    expect(seen).toEqual([deleted('a'), deleted('b')]);
  });
});
